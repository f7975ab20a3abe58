/**
 * What the checks read: the host model (built once, see model/host.ts) and which devices the
 * device-level checks examine. Checks are pure functions of this value, so a live host and its
 * snapshot give the same results.
 */
import type {HostModel} from '../model/host.js'

export type {DeviceCaps, Tristate} from '../model/host.js'
export {kernelAtLeast} from '../model/platform.js'

export interface AssessmentTargets {
  /** Devices the device-level checks examine, and why these. */
  targets: string[]
  targetsFrom: 'argument' | 'vfio-pci' | 'none'
}

/** The model, seen by the checks with the devices they examine. */
export type AssessmentContext = HostModel & AssessmentTargets

export interface ContextOptions {
  /** BDFs named with --device (already normalised to full form). */
  devices?: string[]
}

/**
 * The checks' view of a model: the same object (its parts stay memoised and shared with every
 * other reader of the model) with the examined devices added.
 */
export function assessmentContext(model: HostModel, options: ContextOptions = {}): AssessmentContext {
  const named = options.devices ?? []
  const vfioBound = model.host.pci.filter((d) => d.driver === 'vfio-pci').map((d) => d.bdf)
  const targetsFrom = named.length > 0 ? 'argument' : vfioBound.length > 0 ? 'vfio-pci' : 'none'
  const targets: AssessmentTargets = {targets: targetsFrom === 'argument' ? named : targetsFrom === 'vfio-pci' ? vfioBound : [], targetsFrom}
  return Object.assign(Object.create(model) as HostModel, targets)
}
