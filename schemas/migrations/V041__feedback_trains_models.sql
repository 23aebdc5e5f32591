-- Data dictionary: training reads processed.feedback (pipelines world_from_postgres -> feedback_data).

COMMENT ON TABLE processed.feedback IS 'One row per feedback event from the API or the web page (landing.feedback), tokenless and forged ones included for analytics; only verified rows changed lists. Training reads it: the latest verified like per (user, anime) is a positive (score 10, completed) and the latest verified dislike a negative (score 1, dropped), replacing the list''s row for that anime; clicks and unverified rows do not train.';
COMMENT ON COLUMN processed.feedback.action IS 'like (more like this; trains as a positive), dislike (not for me: hidden; trains as a negative), click (card opened; analytics only)';
