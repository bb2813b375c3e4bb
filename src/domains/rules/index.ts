/**
 * Log-traffic alert rules: CRUD and validation, the default classic rule, the event-time evaluator
 * (incremental windows over the stream processor's 1-second counts) and preview. The evaluator
 * reports to the alert manager through the injected `report` port.
 */
export { ruleRoutes } from './http.js';
export { startRulesEvaluator, type ReportPort, type RuleReport } from './evaluator.js';
