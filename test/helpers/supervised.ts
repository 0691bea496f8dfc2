/**
 * The supervised start is the only start: see startGateway in gateway.ts (own process group,
 * killed on failed start-up, on stop and when the test process exits).
 */
export { startGateway as startSupervisedGateway, type SupervisedGateway, type StartOptions as SupervisedOptions } from './gateway.js';
