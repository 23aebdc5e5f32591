-- Dead letters of the landing writer go out once, even across crashes (issue 17).
-- landing.rejects is the outbox: a rejected message's row commits with the bundle's landed rows, marked
-- 'pending'; the sender marks it 'sending' before it produces and 'sent' after the broker acknowledged.
-- A row left 'sending' by a crash is looked up on the dead-letter topic (by its deterministic id, from
-- landing.dead_letter_cursor on) before anything is sent again.
ALTER TABLE landing.rejects
    ADD COLUMN IF NOT EXISTS payload_bytes integer,
    ADD COLUMN IF NOT EXISTS payload_sha256 text,
    ADD COLUMN IF NOT EXISTS dead_letter_id text,
    ADD COLUMN IF NOT EXISTS dead_letter_state text NOT NULL DEFAULT 'none';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'rejects_dead_letter_state_check') THEN
        ALTER TABLE landing.rejects ADD CONSTRAINT rejects_dead_letter_state_check
            CHECK (dead_letter_state IN ('none', 'pending', 'sending', 'sent'));
    END IF;
END $$;

CREATE INDEX IF NOT EXISTS rejects_dead_letter_open_idx ON landing.rejects (id)
    WHERE dead_letter_state IN ('pending', 'sending');

-- Per dead-letter partition: every offset below next_offset was produced before the last fully
-- acknowledged send, so a lookup after a crash starts here.
CREATE TABLE IF NOT EXISTS landing.dead_letter_cursor (
    kafka_topic     text    NOT NULL,
    kafka_partition integer NOT NULL,
    next_offset     bigint  NOT NULL,
    PRIMARY KEY (kafka_topic, kafka_partition)
);
