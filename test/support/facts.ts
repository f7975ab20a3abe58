/** A snapshot's isolation facts, built the way `diff`, `fleet` and `check --format` build them. */
import {hostFacts, type HostFacts} from '../../src/compare/facts.js'
import {openRoot, snapshotName} from '../../src/host/snapshot.js'
import {modelAt} from './model.js'

export async function factsAt(root: string): Promise<HostFacts> {
  return hostFacts(await modelAt(openRoot(root)), snapshotName(root))
}
