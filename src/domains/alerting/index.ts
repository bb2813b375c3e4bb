/** The alert manager: instances, groups, silences and notifications for every alert source. */
export { raiseAlert } from './alerts.js';
export type { ConditionReport, Routing } from './conditions.js';
export { activeCountsByRule, reportConditions, rerouteRule, retireRule, type ManagerOptions } from './manager.js';
export { alertingRoutes } from './http.js';
export { flushDueGroups, startAlertFlusher, startAlertLive } from './worker.js';
export { createMuteWindow, deleteMuteWindow, deleteMuteWindowsWith, listMuteWindows, mutedChecker, type MuteWindowRecord } from './mute-verbs.js';
export { isOpen as isMuteWindowOpen } from './mutes.js';
