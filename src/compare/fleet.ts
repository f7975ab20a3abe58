/**
 * Many hosts at once: one row per host (verdict, failing checks, a signature of its IOMMU
 * groups) and drift — hosts of the same hardware whose groups or verdicts differ. Pure.
 *
 * "Same hardware" = the same DMI model and the same PCI inventory (every function's address and
 * vendor:device): two servers of one model with different cards are not expected to group alike.
 */
import {createHash} from 'node:crypto'
import {basename} from 'node:path'
import {EXIT} from '../checks/outcome.js'
import type {Outcome} from '../checks/outcome.js'
import {diffHosts} from './diff.js'
import type {HostFacts} from './facts.js'

export const FLEET_SCHEMA_VERSION = 1 as const

export interface FleetHost {
  /** The captured hostname, or the snapshot directory's name when hostnames repeat in this fleet. */
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
  /** On a drifting host: what isolation lost or gained against the hardware's reference host (the most common layout and verdict), as `diff` says it. */
  driftChanges?: string[]
}

export interface FleetDrift {
  hardware: string
  model?: string
  hosts: string[]
  /** The host the others are compared with: the first of the most common groups layout and verdict. */
  reference: string
  groupsSignatures: string[]
  verdicts: Outcome[]
}

/** `vtd-check fleet --json`: one row per host, and drift between hosts of the same hardware. */
export interface FleetSummary {
  schemaVersion: typeof FLEET_SCHEMA_VERSION
  tool: 'vtd-check'
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
  const factsOf = new Map<FleetHost, HostFacts>()
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
  hosts.forEach((h, i) => factsOf.set(h, all[i] as HostFacts))
  // Snapshots of lab or cloned machines share a hostname: then the directory tells them apart.
  const seen = new Map<string, number>()
  for (const h of hosts) seen.set(h.name, (seen.get(h.name) ?? 0) + 1)
  for (const h of hosts) if ((seen.get(h.name) ?? 0) > 1) h.name = basename(h.root)

  const byHardware = new Map<string, FleetHost[]>()
  for (const h of hosts) byHardware.set(h.hardware, [...(byHardware.get(h.hardware) ?? []), h])
  const drift: FleetDrift[] = []
  for (const [hardware, peers] of byHardware) {
    if (peers.length < 2) continue
    const signatures = [...new Set(peers.map((p) => p.groupsSignature))].sort()
    const verdicts = [...new Set(peers.map((p) => p.verdict))].sort()
    if (signatures.length === 1 && verdicts.length === 1) continue
    // The reference: the most common (layout, verdict) pair among the peers, first by input order.
    const key = (h: FleetHost) => `${h.groupsSignature} ${h.verdict}`
    const tally = new Map<string, number>()
    for (const p of peers) tally.set(key(p), (tally.get(key(p)) ?? 0) + 1)
    const reference = peers.reduce((best, p) => ((tally.get(key(p)) ?? 0) > (tally.get(key(best)) ?? 0) ? p : best))
    drift.push({hardware, ...(peers[0]?.model ? {model: peers[0].model} : {}), hosts: peers.map((p) => p.name), reference: reference.name, groupsSignatures: signatures, verdicts})
    // Drift is measured against the reference: hosts that match it are not flagged.
    for (const p of peers) {
      if (key(p) === key(reference)) continue
      const reasons: string[] = []
      if (p.groupsSignature !== reference.groupsSignature) reasons.push(`groups differ from ${reference.name} (same hardware)`)
      if (p.verdict !== reference.verdict) reasons.push(`verdict ${p.verdict} where ${reference.name} has ${reference.verdict} (same hardware)`)
      p.drift = reasons
      const changes = diffHosts(factsOf.get(reference) as HostFacts, factsOf.get(p) as HostFacts).changes
      // What isolation lost or gained; checks that merely got better are left to `diff`.
      const telling = changes.filter((c) => c.impact === 'regression' || (c.impact === 'improvement' && c.area !== 'check'))
      p.driftChanges = telling.map((c) => `${c.impact === 'regression' ? 'worse' : 'better'} than ${reference.name}: ${c.text}`)
    }
  }

  const exitCode = hosts.some((h) => h.exitCode === EXIT.fail) || drift.length > 0 ? EXIT.fail : hosts.some((h) => h.exitCode === EXIT.unknown) ? EXIT.unknown : EXIT.ok
  return {schemaVersion: FLEET_SCHEMA_VERSION, tool: 'vtd-check', hosts, drift, exitCode}
}
