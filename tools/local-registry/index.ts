/**
 * A local MCP Gateway Registry: start it in-process with `startLocalRegistry`, or from the
 * command line with `npx tsx tools/local-registry/cli.ts`.
 */
export type { AgentCard } from './agent-card';
export {
  CurrentGeneration,
  type CurrentVersion,
  epochMs,
  naiveUtc,
  type Principal,
  REGISTRATION_FAILED,
  weakEtag,
} from './current';
export {
  type Fault,
  type FaultMatch,
  Faults,
  nginxErrorPage,
  type ScanOutcome,
  type ScanVerdict,
  type ServerEdit,
} from './faults';
export { parseCidr, policyDenial, type UrlPolicy } from './policy';
export { loadSeed, type SeedData } from './seed';
export {
  GENERATIONS,
  type Generation,
  isDocumentDbGeneration,
  type LocalRegistry,
  type LocalRegistryOptions,
  type LocalRegistrySettings,
  type LoggedRequest,
  NEWEST_GENERATION,
  type ScanSettings,
  startLocalRegistry,
} from './server';
export {
  type Answer,
  DEFAULT_PAGE_LIMIT,
  type ListShape,
  MAX_PAGE_LIMIT,
  type ServerRecord,
  type StorageMode,
  VALID_AUTH_SCHEMES,
} from './store';
export { TOKEN_PATH, type TokenCheck } from './tokens';
