/**
 * The chaos simulation: the reconciler's real handler and decision code against a
 * simulated ECS cluster, Cloud Map, EventBridge, SQS and registry on a virtual clock.
 */

export { type Bound, bounds } from './bounds';
export type { ChaosKnobs, KnobOverrides } from './knobs';
export { CALM_KNOBS, withKnobs } from './knobs';
export { formatTable } from './report';
export type { Distribution, RunOptions, ScenarioResult } from './run';
export { runScenario } from './run';
export type { PlanContext, ScenarioSpec } from './scenarios';
export { CHAOS_KNOBS, SCENARIO_NAMES, SCENARIOS } from './scenarios';
