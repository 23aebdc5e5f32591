from pathlib import Path

from click.testing import CliRunner

from animerec.common.cli import main

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_configuration_reference_is_current():
    """docs/configuration.md is generated from the settings classes; `make docs` refreshes it."""
    result = CliRunner().invoke(main, ["config", "--all", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() in DOC.read_text(), "docs/configuration.md is stale: run `make docs`"
    for prefix in ("ANIMEREC_*", "ANIMEREC_CRAWLER_*", "ANIMEREC_API_*", "ANIMEREC_LANDING_*", "ANIMEREC_ETL_*",
                   "ANIMEREC_SCHEDULER_*", "ANIMEREC_PIPELINES_*"):
        assert f"(`{prefix}`)" in result.output
