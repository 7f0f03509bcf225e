-- Schema version 1 of the bgrun store. One row per process name; the id stays
-- the same across restarts. Lists (env, env files, ignore patterns) are JSON
-- arrays so that any value, commas and '=' included, survives.
CREATE TABLE process (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	name             TEXT    NOT NULL UNIQUE,
	pid              INTEGER NOT NULL DEFAULT 0,
	pgid             INTEGER NOT NULL DEFAULT 0,
	start_ticks      INTEGER NOT NULL DEFAULT 0,
	command          TEXT    NOT NULL,
	workdir          TEXT    NOT NULL,
	env              TEXT    NOT NULL DEFAULT '[]',
	set_env          TEXT    NOT NULL DEFAULT '[]',
	config_path      TEXT    NOT NULL DEFAULT '',
	no_config        INTEGER NOT NULL DEFAULT 0,
	env_files        TEXT    NOT NULL DEFAULT '[]',
	grp              TEXT    NOT NULL DEFAULT '',
	parent           TEXT    NOT NULL DEFAULT '',
	stdout_path      TEXT    NOT NULL,
	stderr_path      TEXT    NOT NULL,
	status           TEXT    NOT NULL DEFAULT 'stopped',
	started_at       TEXT    NOT NULL DEFAULT '',
	exit_code        INTEGER NOT NULL DEFAULT 0,
	exit_signal      TEXT    NOT NULL DEFAULT '',
	exited_at        TEXT    NOT NULL DEFAULT '',
	guard            INTEGER NOT NULL DEFAULT 0,
	watch            INTEGER NOT NULL DEFAULT 0,
	watch_ignore     TEXT    NOT NULL DEFAULT '[]',
	supervisor_pid   INTEGER NOT NULL DEFAULT 0,
	supervisor_ticks INTEGER NOT NULL DEFAULT 0,
	restarts         INTEGER NOT NULL DEFAULT 0,
	max_restarts     INTEGER NOT NULL DEFAULT 0,
	backoff          TEXT    NOT NULL DEFAULT '',
	gave_up          INTEGER NOT NULL DEFAULT 0,
	created_at       TEXT    NOT NULL,
	updated_at       TEXT    NOT NULL
);
CREATE INDEX idx_process_grp ON process(grp);

CREATE TABLE history (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	process_name TEXT    NOT NULL,
	event        TEXT    NOT NULL,
	pid          INTEGER NOT NULL DEFAULT 0,
	at           TEXT    NOT NULL,
	detail       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_history_name ON history(process_name, id);
