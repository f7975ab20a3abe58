/** From a root (`/` or a snapshot directory) to its isolation facts: one full assessment. */
import path from 'node:path'
import {runChecks, overallVerdict} from '../checks/catalogue.js'
import {assessmentContext} from '../checks/context.js'
import {collectHost} from '../collect/index.js'
import {readKernelLog} from '../host/kernel-log.js'
import {openRoot, readMeta} from '../host/snapshot.js'
import {buildHostModel} from '../model/host.js'
import {hostFacts, type HostFacts} from './facts.js'

/** The name a host goes by in a fleet: the snapshot's captured hostname, else its directory name. */
export function hostNameOf(root: string): string {
  if (root === '/') return 'localhost'
  const captured = readMeta(root)?.hostname
  return captured && captured.trim() !== '' ? captured.trim() : path.basename(path.resolve(root))
}

export async function loadHostFacts(root: string): Promise<HostFacts> {
  const fs = openRoot(root)
  const ctx = assessmentContext(buildHostModel({collected: collectHost(fs), log: await readKernelLog(fs)}))
  const results = runChecks(ctx)
  return hostFacts(ctx, results, overallVerdict(results), hostNameOf(root))
}
