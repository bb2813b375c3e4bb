export { raiseAlert } from './alerts.js';

