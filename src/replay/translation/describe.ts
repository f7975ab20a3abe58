/**
 * A JSON description of one unit's tables, for teaching and tests (format in README.md).
 * Invalid input comes back as a list of errors naming the JSON path, never as a throw.
 */
import {unitCapsFromRegisters, widestAw} from './caps.js'
import {TableBuilder, type PageTableDomain} from './build.js'
import type {ReplayContext} from './context.js'
import {PageLimitExceeded} from './memory.js'
import {parseRequester} from './replay.js'

/**
 * A description is a teaching scenario of a few entries. A hostile one (a --tables file from
 * elsewhere) could ask for millions of mappings or pokes, each a fresh 4-KiB page (2 M pokes took
 * more than 4 GB): past these it is refused with a message instead.
 */
export const MAX_DESCRIBED_MAPPINGS = 65_536
export const MAX_DESCRIBED_POKES = 65_536
/** Table memory a description may build: 4096 pages of 4 KiB, 16 MiB (and at most 2 M leaf entries, a few seconds). */
export const MAX_DESCRIBED_PAGES = 4096

export type TablesDescription = Record<string, unknown>

type Parsed = {ok: true; context: ReplayContext} | {ok: false; errors: string[]}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function buildFromDescription(json: unknown): Parsed {
  const tooMany = countLimits(json)
  if (tooMany.length > 0) return {ok: false, errors: tooMany}
  try {
    return build(json)
  } catch (error) {
    if (error instanceof PageLimitExceeded) return {ok: false, errors: [`${error.message}: a description may build at most ${MAX_DESCRIBED_PAGES} table pages; map fewer or larger-aligned regions`]}
    throw error
  }
}

/** Errors for a description with more mappings or pokes than MAX_DESCRIBED_*, before anything is built. */
function countLimits(json: unknown): string[] {
  if (!isObject(json)) return []
  const domains = Array.isArray(json.domains) ? json.domains : []
  const mappings = domains.reduce((n: number, d: unknown) => n + (isObject(d) && Array.isArray(d.mappings) ? d.mappings.length : 0), 0)
  const pokes = Array.isArray(json.pokes) ? json.pokes.length : 0
  return [
    ...(mappings > MAX_DESCRIBED_MAPPINGS ? [`domains[].mappings: ${mappings} mappings, more than the ${MAX_DESCRIBED_MAPPINGS} a description may hold`] : []),
    ...(pokes > MAX_DESCRIBED_POKES ? [`pokes: ${pokes} pokes, more than the ${MAX_DESCRIBED_POKES} a description may hold`] : []),
  ]
}

function build(json: unknown): Parsed {
  const errors: string[] = []
  const num = (v: unknown, path: string, fallback?: bigint): bigint | undefined => {
    if (v === undefined && fallback !== undefined) return fallback
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
    if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) return BigInt(v.trim())
    errors.push(`${path}: expected a number or a "0x…" string, got ${JSON.stringify(v)}`)
    return undefined
  }
  if (!isObject(json)) return {ok: false, errors: ['top level: expected an object']}
  const unitJson = json.unit
  if (!isObject(unitJson)) return {ok: false, errors: ['unit: expected an object with cap and ecap']}
  const cap = num(unitJson.cap, 'unit.cap')
  const ecap = num(unitJson.ecap, 'unit.ecap')
  const haw = unitJson.haw === undefined ? undefined : Number(num(unitJson.haw, 'unit.haw') ?? 52n)
  if (cap === undefined || ecap === undefined) return {ok: false, errors}
  const caps = unitCapsFromRegisters(cap, ecap, haw)
  const scalable = unitJson.scalable === true
  const builder = new TableBuilder(caps, scalable)
  builder.memory.pageLimit = MAX_DESCRIBED_PAGES
  const name = typeof unitJson.name === 'string' ? unitJson.name : 'dmar0'
  const segment = Number(num(unitJson.segment, 'unit.segment', 0n) ?? 0n)

  const domains = new Map<string, PageTableDomain>()
  const domainList = Array.isArray(json.domains) ? json.domains : []
  domainList.forEach((d: unknown, i) => {
    const path = `domains[${i}]`
    if (!isObject(d) || typeof d.name !== 'string') return void errors.push(`${path}: expected an object with a name`)
    const did = Number(num(d.did, `${path}.did`, BigInt(i + 2)) ?? 0n)
    const stage = d.stage === 'first' ? 'first' : 'second'
    const aw = d.aw === undefined ? undefined : Number(num(d.aw, `${path}.aw`) ?? 2n)
    const domain = builder.newDomain(did, stage, aw)
    domains.set(d.name, domain)
    const mappings = Array.isArray(d.mappings) ? d.mappings : []
    mappings.forEach((m: unknown, j) => {
      const mpath = `${path}.mappings[${j}]`
      if (!isObject(m)) return void errors.push(`${mpath}: expected an object`)
      const iova = num(m.iova, `${mpath}.iova`)
      const hpa = num(m.hpa, `${mpath}.hpa`, iova)
      const size = num(m.size, `${mpath}.size`, 0x1000n)
      if (iova === undefined || hpa === undefined || size === undefined) return
      builder.map(domain, {iova, hpa, size, read: m.read !== false, write: m.write !== false})
    })
  })

  const deviceUnits = new Map<string, string>()
  const deviceList = Array.isArray(json.devices) ? json.devices : []
  deviceList.forEach((d: unknown, i) => {
    const path = `devices[${i}]`
    if (!isObject(d) || typeof d.bdf !== 'string') return void errors.push(`${path}: expected an object with a bdf`)
    const parsed = parseRequester(d.bdf)
    if (parsed === undefined) return void errors.push(`${path}.bdf: "${d.bdf}" is not a BDF`)
    deviceUnits.set(parsed.bdf, name)
    if (d.passThrough === true) return void builder.attachPassThrough(parsed.sid, Number(num(d.aw, `${path}.aw`, BigInt(widestAw(caps) ?? 2)) ?? 2n))
    if (isObject(d.context)) {
      // Raw context fields, for teaching what each bad programming does.
      const c = d.context
      if (!scalable) {
        const domain = typeof d.domain === 'string' ? domains.get(d.domain) : undefined
        builder.setLegacyContext(parsed.sid, {
          tt: Number(num(c.tt, `${path}.context.tt`, 0n) ?? 0n),
          aw: Number(num(c.aw, `${path}.context.aw`, BigInt(domain?.aw ?? 2)) ?? 2n),
          did: Number(num(c.did, `${path}.context.did`, BigInt(domain?.did ?? 2)) ?? 2n),
          slptptr: domain?.root ?? 0,
          fpd: c.fpd === true,
        })
      } else errors.push(`${path}.context: raw context fields are for legacy-mode units`)
      return
    }
    if (typeof d.domain !== 'string') return
    const domain = domains.get(d.domain)
    if (domain === undefined) return void errors.push(`${path}.domain: no domain named "${d.domain}"`)
    builder.attach(parsed.sid, domain, {ats: d.ats === true, fpd: d.fpd === true, paside: Array.isArray(d.pasids)})
    const pasids = Array.isArray(d.pasids) ? d.pasids : []
    pasids.forEach((p: unknown, j) => {
      const ppath = `${path}.pasids[${j}]`
      if (!isObject(p) || typeof p.domain !== 'string') return void errors.push(`${ppath}: expected {pasid, domain}`)
      const pd = domains.get(p.domain)
      const pasid = num(p.pasid, `${ppath}.pasid`)
      if (pd === undefined) return void errors.push(`${ppath}.domain: no domain named "${p.domain}"`)
      if (pasid === undefined) return
      if (!scalable) return void errors.push(`${ppath}: PASIDs need a scalable-mode unit`)
      builder.setPasidEntry(parsed.sid, Number(pasid), builder.pasidFieldsFor(pd))
    })
  })

  const pokes = Array.isArray(json.pokes) ? json.pokes : []
  pokes.forEach((p: unknown, i) => {
    const path = `pokes[${i}]`
    if (!isObject(p)) return void errors.push(`${path}: expected {address, value}`)
    const address = num(p.address, `${path}.address`)
    const value = num(p.value, `${path}.value`)
    if (address !== undefined && value !== undefined) builder.memory.write64(Number(address), value)
  })

  if (errors.length > 0) return {ok: false, errors}
  builder.memory.pageLimit = Number.POSITIVE_INFINITY // built: the limit was for the description, not for the replay
  const unit = builder.unit(name, 'json', [], segment)
  return {ok: true, context: {units: [unit], deviceUnits, source: 'json', notes: ['tables from a JSON description']}}
}
