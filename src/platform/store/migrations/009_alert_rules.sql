-- Log-traffic alert rules (rules domain) and the evaluator's progress per organisation.
--
-- `alert_rules.spec` is the validated rule (contracts/alerting.ts RuleSpec) as JSON; `version`
-- counts edits so the evaluator rebuilds a rule's windows only when it changed. `error` is why the
-- rule could not be evaluated last time (shown in the API), cleared by an edit.
--
-- `rule_evaluator` holds, per organisation, the last event-time second evaluated (`position`) and
-- the evaluator's small snapshot of the instances it saw active or firing (`instances`), saved in
-- the same transaction as the reports it handed the alert manager, so that a restart neither
-- repeats nor loses a transition. Its row exists once the organisation's default rule was created
-- (`default_seeded`), so deleting the default rule is not undone by the next evaluation.

-- migrate:up
CREATE TABLE alert_rules (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name        text NOT NULL,
  spec        jsonb NOT NULL,
  is_default  boolean NOT NULL DEFAULT false,
  enabled     boolean NOT NULL DEFAULT true,
  error       text,
  error_at    timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1
);
CREATE INDEX alert_rules_org ON alert_rules (org_id, created_at);

CREATE TABLE rule_evaluator (
  org_id          uuid PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  position        timestamptz,
  instances       jsonb NOT NULL DEFAULT '{}'::jsonb,
  default_seeded  boolean NOT NULL DEFAULT true,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE rule_evaluator;
DROP TABLE alert_rules;
