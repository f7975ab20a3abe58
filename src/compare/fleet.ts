/**
 * Many hosts at once: one row per host (verdict, failing checks, a signature of its IOMMU
 * groups) and drift — hosts of the same hardware whose groups or verdicts differ. Pure.
 *
 * "Same hardware" = the same DMI model and the same PCI inventory (every function's address and
 * vendor:device): two servers of one model with different cards are not expected to group alike.
 */
import {createHash} from 'node:crypto'
import {EXIT} from '../checks/outcome.js'
import type {Outcome} from '../checks/outcome.js'
import type {HostFacts} from './facts.js'

export const FLEET_SCHEMA_VERSION = 1 as const

export interface FleetHost {
  name: string
  root: string
  model?: string
  kernel?: string
  /** Short hash of the DMI model and PCI inventory: hosts with the same one are the same hardware. */
  hardware: string
  verdict: Outcome
  headline: string
  exitCode: number
  failing: string[]
  /** Short hash of the kernel's group partition (which devices share a group; group numbers ignored). */
  groupsSignature: string
  groups: number
  sharedGroups: number
  passthroughReady: number
  /** Set when hosts of the same hardware disagree: what differs. */
  drift?: string[]
}

export interface FleetDrift {
  hardware: string
  model?: string
  hosts: string[]
  groupsSignatures: string[]
  verdicts: Outcome[]
}

/** `vtd-check fleet --json`: one row per host, and drift between hosts of the same hardware. */
export interface FleetSummary {
  schemaVersion: typeof FLEET_SCHEMA_VERSION
  hosts: FleetHost[]
  drift: FleetDrift[]
  /** 1 when a host fails or hardware drifts, 3 when a host could not be assessed, else 0. */
  exitCode: number
}

const shortHash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12)

/** The partition of devices into groups, independent of how the kernel numbered them. */
export function groupsSignature(facts: HostFacts): string {
  if (facts.groups.length === 0) return 'no-groups'
  return shortHash(facts.groups.map((g) => [...g.devices].sort()).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? '')))
}

export function hardwareSignature(facts: HostFacts): string {
  return shortHash([facts.host.model ?? '', facts.devices.map((d) => `${d.bdf} ${d.id}`).sort()])
}

export function summariseFleet(all: readonly HostFacts[]): FleetSummary {
  const hosts: FleetHost[] = all.map((f) => ({
    name: f.host.name,
    root: f.host.root,
    ...(f.host.model ? {model: f.host.model} : {}),
    ...(f.host.kernel ? {kernel: f.host.kernel} : {}),
    hardware: hardwareSignature(f),
    verdict: f.verdict.outcome,
    headline: f.verdict.headline,
    exitCode: f.verdict.exitCode,
    failing: f.checks.filter((c) => c.outcome === 'fail').map((c) => (c.subject ? `${c.id} (${c.subject})` : c.id)),
    groupsSignature: groupsSignature(f),
    groups: f.groups.length,
    sharedGroups: f.groups.filter((g) => g.shared).length,
    passthroughReady: f.devices.filter((d) => d.passthroughReady).length,
  }))

  const byHardware = new Map<string, FleetHost[]>()
  for (const h of hosts) byHardware.set(h.hardware, [...(byHardware.get(h.hardware) ?? []), h])
  const drift: FleetDrift[] = []
  for (const [hardware, peers] of byHardware) {
    if (peers.length < 2) continue
    const signatures = [...new Set(peers.map((p) => p.groupsSignature))].sort()
    const verdicts = [...new Set(peers.map((p) => p.verdict))].sort()
    if (signatures.length === 1 && verdicts.length === 1) continue
    drift.push({hardware, ...(peers[0]?.model ? {model: peers[0].model} : {}), hosts: peers.map((p) => p.name), groupsSignatures: signatures, verdicts})
    for (const p of peers) {
      const others = peers.filter((o) => o !== p)
      const reasons: string[] = []
      const differentGroups = others.filter((o) => o.groupsSignature !== p.groupsSignature)
      const differentVerdict = others.filter((o) => o.verdict !== p.verdict)
      if (differentGroups.length > 0) reasons.push(`groups differ from ${differentGroups.length} of ${others.length} host(s) with the same hardware`)
      if (differentVerdict.length > 0) reasons.push(`verdict differs from ${differentVerdict.length} of ${others.length} host(s) with the same hardware`)
      if (reasons.length > 0) p.drift = reasons
    }
  }
  const exitCode = hosts.some((h) => h.exitCode === EXIT.fail) || drift.length > 0 ? EXIT.fail : hosts.some((h) => h.exitCode === EXIT.unknown) ? EXIT.unknown : EXIT.ok
  return {schemaVersion: FLEET_SCHEMA_VERSION, hosts, drift, exitCode}
}
