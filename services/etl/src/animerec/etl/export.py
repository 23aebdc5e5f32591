"""`animerec etl export`: the processed tables as Parquet and CSV plus a data dictionary (the shareable dataset).

The destination is a folder or any URI pyarrow's filesystems understand (s3://bucket/prefix when pyarrow
was built with S3 support, which the PyPI wheels are). Tables stream in chunks through a server-side cursor,
so memory stays flat whatever their size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from psycopg import sql

from animerec.common import db
from animerec.common.timefmt import now_iso

from .promote import TABLES

ARROW_TYPES: dict[str, pa.DataType] = {
    "smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64(), "boolean": pa.bool_(),
    "text": pa.string(), "numeric": pa.float64(), "date": pa.date32(), "jsonb": pa.string(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"), "_text": pa.list_(pa.string()),
    "_int4": pa.list_(pa.int32()),
}


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    nullable: bool
    description: str

    @property
    def arrow(self) -> pa.DataType:
        return ARROW_TYPES.get(self.pg_type, pa.string())


def describe(conn: psycopg.Connection, table: str) -> tuple[str, list[Column]]:
    rows = conn.execute("""
        SELECT c.column_name, CASE WHEN c.data_type = 'ARRAY' THEN c.udt_name ELSE c.data_type END,
               c.is_nullable = 'YES', coalesce(col_description(format('processed.%%I', c.table_name)::regclass,
                                                                  c.ordinal_position), '')
        FROM information_schema.columns c
        WHERE c.table_schema = 'processed' AND c.table_name = %s ORDER BY c.ordinal_position""", (table,)).fetchall()
    note = db.scalar(conn, "SELECT coalesce(obj_description(format('processed.%%I', %s::text)::regclass, "
                           "'pg_class'), '')", (table,))
    return note, [Column(*r) for r in rows]


def destination(to: str) -> tuple[pafs.FileSystem, str]:
    if "://" in to:
        return pafs.FileSystem.from_uri(to)
    fs = pafs.LocalFileSystem()
    from pathlib import Path
    return fs, str(Path(to).resolve())


def _csv_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """CSV cannot hold lists: those columns become JSON arrays in text."""
    arrays = []
    for col in batch.columns:
        if pa.types.is_list(col.type):
            arrays.append(pa.array([None if v is None else json.dumps(v) for v in col.to_pylist()], pa.string()))
        else:
            arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _value(v: Any) -> Any:
    return float(v) if v.__class__.__name__ == "Decimal" else v


def export_table(conn: psycopg.Connection, fs: pafs.FileSystem, base: str, table: str,
                 chunk_rows: int = 100_000) -> dict[str, Any]:
    note, cols = describe(conn, table)
    schema = pa.schema([pa.field(c.name, c.arrow, nullable=c.nullable) for c in cols])
    csv_schema = pa.schema([pa.field(c.name, pa.string() if pa.types.is_list(c.arrow) else c.arrow) for c in cols])
    parquet_path, csv_path = f"{base}/{table}.parquet", f"{base}/{table}.csv"
    rows = 0
    with fs.open_output_stream(parquet_path) as pout, fs.open_output_stream(csv_path) as cout, \
            pq.ParquetWriter(pout, schema, compression="zstd") as pw, pacsv.CSVWriter(cout, csv_schema) as cw, \
            conn.cursor(name=f"export_{table}") as cur:
        cur.itersize = chunk_rows
        cur.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1, 2").format(
            sql.SQL(", ").join(sql.Identifier(c.name) for c in cols), sql.Identifier("processed", table)))
        while True:
            chunk = cur.fetchmany(chunk_rows)
            if not chunk:
                break
            arrays = [pa.array([_value(r[i]) for r in chunk], c.arrow) for i, c in enumerate(cols)]
            batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
            pw.write_batch(batch)
            cw.write_batch(_csv_batch(batch))
            rows += len(chunk)
    return {"table": table, "description": note, "rows": rows, "files": [f"{table}.parquet", f"{table}.csv"],
            "columns": [{"name": c.name, "type": c.pg_type, "arrow_type": str(c.arrow), "nullable": c.nullable,
                         "description": c.description} for c in cols]}


def dictionary_markdown(doc: dict[str, Any]) -> str:
    out = ["# animerec dataset: data dictionary", "",
           f"Exported {doc['exported_at']} from the processed tables (ETL run {doc.get('etl_run_id')}).",
           "Each table is given as Parquet and CSV (list columns are JSON arrays in the CSV).", ""]
    for t in doc["tables"]:
        out += [f"## {t['table']} ({t['rows']} rows)", "", t["description"], "",
                "| column | type | nullable | description |", "|---|---|---|---|"]
        out += [f"| {c['name']} | {c['type']} | {'yes' if c['nullable'] else 'no'} | {c['description']} |"
                for c in t["columns"]]
        out.append("")
    return "\n".join(out)


def export(url: str, to: str) -> dict[str, Any]:
    fs, base = destination(to)
    fs.create_dir(base, recursive=True)
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one consistent snapshot
        run = db.scalar(conn, "SELECT max(run_id) FROM etl.runs WHERE status = 'promoted'")
        tables = [export_table(conn, fs, base, t) for t in TABLES]
    doc = {"exported_at": now_iso("seconds"), "etl_run_id": run, "tables": tables}
    with fs.open_output_stream(f"{base}/data_dictionary.json") as out:
        out.write(json.dumps(doc, indent=2).encode())
    with fs.open_output_stream(f"{base}/data_dictionary.md") as out:
        out.write(dictionary_markdown(doc).encode())
    return doc
