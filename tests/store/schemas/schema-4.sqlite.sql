-- Schema 4: source_hash on every snapshot table (the hash of the source row a record was mapped from)
-- The tables pms-bridge 07d7276 (2026-11-30) created on sqlite: CREATE statements compiled from
-- that commit's src/pms_bridge/store/schema.py (git show 07d7276:src/pms_bridge/store/schema.py).

CREATE TABLE appointments (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	patient_id TEXT NOT NULL, 
	start DATETIME, 
	minutes INTEGER NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	provider_id TEXT, 
	hygienist_id TEXT, 
	is_hygiene BOOLEAN, 
	is_new_patient BOOLEAN, 
	confirmed BOOLEAN, 
	confirmation TEXT, 
	appointment_type TEXT, 
	operatory_id TEXT, 
	booked_at DATETIME, 
	clinic_id TEXT, 
	clinic TEXT, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_appointments_patient_id ON appointments (practice, patient_id);

CREATE INDEX ix_appointments_start ON appointments (practice, start);

CREATE TABLE claims (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	patient_id TEXT NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	claim_type VARCHAR(32), 
	service_date DATE, 
	sent_date DATE, 
	received_date DATE, 
	fee NUMERIC(14, 2), 
	insurance_estimate NUMERIC(14, 2), 
	insurance_paid NUMERIC(14, 2), 
	plan_id TEXT, 
	provider_id TEXT, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_claims_patient_id ON claims (practice, patient_id);

CREATE TABLE coverages (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	patient_id TEXT NOT NULL, 
	ordinal INTEGER, 
	plan_id TEXT, 
	plan_name TEXT, 
	group_number TEXT, 
	carrier_id TEXT, 
	carrier_name TEXT, 
	subscriber_id TEXT, 
	subscriber_patient_id TEXT, 
	relationship VARCHAR(32), 
	effective_date DATE, 
	term_date DATE, 
	plan_hidden BOOLEAN, 
	is_pending BOOLEAN, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_coverages_patient_id ON coverages (practice, patient_id);

CREATE TABLE cursors (
	practice VARCHAR(63) NOT NULL, 
	resource VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	run_id BIGINT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (practice, resource)
);

CREATE TABLE documents (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	patient_id TEXT NOT NULL, 
	category TEXT, 
	is_radiograph BOOLEAN, 
	radiograph_kind VARCHAR(32), 
	taken_date DATE, 
	tooth_numbers TEXT, 
	is_deleted BOOLEAN, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_documents_patient_id ON documents (practice, patient_id);

CREATE TABLE forms (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	patient_id TEXT NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	title TEXT, 
	completed_at DATETIME, 
	is_deleted BOOLEAN, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_forms_patient_id ON forms (practice, patient_id);

CREATE TABLE patients (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	first_name TEXT, 
	last_name TEXT, 
	preferred_name TEXT, 
	birth_date DATE, 
	status VARCHAR(32), 
	primary_provider_id TEXT, 
	first_contact_date DATE, 
	first_visit_date DATE, 
	clinic_id TEXT, 
	clinic TEXT, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE TABLE practices (
	"key" VARCHAR(63) NOT NULL, 
	name TEXT NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	PRIMARY KEY ("key")
);

CREATE TABLE procedure_codes (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	code TEXT NOT NULL, 
	description TEXT, 
	is_hygiene BOOLEAN, 
	is_radiology BOOLEAN, 
	default_minutes INTEGER, 
	time_pattern TEXT, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE TABLE procedures (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	patient_id TEXT NOT NULL, 
	code TEXT NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	appointment_id TEXT, 
	planned_appointment_id TEXT, 
	provider_id TEXT, 
	tooth TEXT, 
	surface TEXT, 
	procedure_date DATE, 
	planned_date DATE, 
	fee NUMERIC(14, 2), 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_procedures_appointment_id ON procedures (practice, appointment_id);

CREATE INDEX ix_procedures_patient_id ON procedures (practice, patient_id);

CREATE TABLE provider_code_times (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	code TEXT NOT NULL, 
	provider_id TEXT NOT NULL, 
	time_pattern TEXT NOT NULL, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE TABLE providers (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	abbr TEXT, 
	first_name TEXT, 
	last_name TEXT, 
	kind VARCHAR(32), 
	specialty TEXT, 
	is_hidden BOOLEAN, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE TABLE pushes (
	practice VARCHAR(63) NOT NULL, 
	sink VARCHAR(32) NOT NULL, 
	"key" VARCHAR(200) NOT NULL, 
	remote_id VARCHAR(64), 
	state VARCHAR(16) NOT NULL, 
	target VARCHAR(64), 
	text_hash VARCHAR(40) NOT NULL, 
	remote_created DATETIME, 
	run_id BIGINT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (practice, sink, "key")
);

CREATE TABLE quarantine (
	id INTEGER NOT NULL, 
	practice VARCHAR(63) NOT NULL, 
	run_id BIGINT NOT NULL, 
	source TEXT NOT NULL, 
	resource VARCHAR(64) NOT NULL, 
	line INTEGER, 
	source_id VARCHAR(64), 
	field VARCHAR(128), 
	reason TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_quarantine_run_id ON quarantine (run_id);

CREATE TABLE reference_rows (
	practice VARCHAR(63) NOT NULL, 
	lookup VARCHAR(64) NOT NULL, 
	"key" VARCHAR(64) NOT NULL, 
	data JSON NOT NULL, 
	PRIMARY KEY (practice, lookup, "key")
);

CREATE TABLE referrals (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	patient_id TEXT NOT NULL, 
	direction VARCHAR(32) NOT NULL, 
	referral_date DATE, 
	referral_source_id TEXT, 
	status VARCHAR(32), 
	completed_date DATE, 
	procedure_id TEXT, 
	provider_id TEXT, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_referrals_patient_id ON referrals (practice, patient_id);

CREATE TABLE run_locks (
	practice VARCHAR(63) NOT NULL, 
	pid INTEGER NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	command VARCHAR(32) NOT NULL, 
	started_at DATETIME NOT NULL, 
	PRIMARY KEY (practice)
);

CREATE TABLE runs (
	id INTEGER NOT NULL, 
	practice VARCHAR(63) NOT NULL, 
	command VARCHAR(32) NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	as_of DATETIME, 
	status VARCHAR(16) NOT NULL, 
	summary JSON, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_runs_practice ON runs (practice);

CREATE TABLE schema_info (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE task_history (
	id INTEGER NOT NULL, 
	practice VARCHAR(63) NOT NULL, 
	"key" VARCHAR(200) NOT NULL, 
	run_id BIGINT, 
	at DATETIME NOT NULL, 
	from_status VARCHAR(16), 
	to_status VARCHAR(16) NOT NULL, 
	cause TEXT NOT NULL, 
	changes JSON, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_task_history_key ON task_history (practice, "key");

CREATE TABLE tasks (
	practice VARCHAR(63) NOT NULL, 
	"key" VARCHAR(200) NOT NULL, 
	rule VARCHAR(16) NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	severity VARCHAR(8) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	assignee TEXT, 
	patient_id VARCHAR(64) NOT NULL, 
	appointment_id VARCHAR(64), 
	appointment_at DATETIME, 
	subject_type VARCHAR(16) NOT NULL, 
	subject_id VARCHAR(64) NOT NULL, 
	title TEXT NOT NULL, 
	detail TEXT NOT NULL, 
	fix TEXT NOT NULL, 
	due DATE NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	resolved_at DATETIME, 
	reason TEXT, 
	fingerprint VARCHAR(200) NOT NULL, 
	data JSON NOT NULL, 
	last_run BIGINT NOT NULL, 
	clinic TEXT, 
	PRIMARY KEY (practice, "key")
);

CREATE INDEX ix_tasks_status ON tasks (status);

CREATE TABLE verifications (
	practice VARCHAR(63) NOT NULL, 
	source_id VARCHAR(64) NOT NULL, 
	source_updated_at DATETIME, 
	kind VARCHAR(32) NOT NULL, 
	coverage_id TEXT, 
	plan_id TEXT, 
	verified_on DATE, 
	result VARCHAR(32), 
	status_label TEXT, 
	row_hash VARCHAR(40) NOT NULL, 
	first_run BIGINT NOT NULL, 
	changed_run BIGINT NOT NULL, 
	source_hash VARCHAR(16), 
	PRIMARY KEY (practice, source_id)
);

CREATE INDEX ix_verifications_coverage_id ON verifications (practice, coverage_id);
