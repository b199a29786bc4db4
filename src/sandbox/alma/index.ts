/** The Alma sandbox: a local stand-in for Alma's REST API (modelled on Ex Libris' documentation, developers.exlibrisgroup.com/alma/apis). */
export { startAlmaSandbox, type AlmaSandbox, type AlmaSandboxOptions } from './server';
export {
  seedFromConfig,
  BUILT_IN_CATALOGUE,
  DEFAULT_DAILY_THRESHOLD,
  type SandboxSeed,
  type SandboxInstitutionSeed,
  type SandboxVendorSeed,
  type CatalogueEntry,
  type HeldTitle,
} from './seed';
export { DEMO_HELD_TITLES, withDemoHeldTitles } from './held';
export { ENDPOINT_KEYS, type EndpointKey, type Fault, type FaultSet } from './faults';
