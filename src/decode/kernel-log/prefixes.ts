/**
 * Line prefixes before a kernel message: timestamps of every tool and locale (dmesg, dmesg -T/-H,
 * syslog, journal, Xen), printk level markers, "host kernel:", indentation. One table, tried
 * repeatedly at the start of the line until none matches.
 */
import type {LogTime} from './records.js'

const MONTHS: Record<string, number> = {}
;[
  ['jan', 'janv', 'jän', 'ene', 'gen'],
  ['feb', 'févr', 'fevr', 'fév', 'feb'],
  ['mar', 'mars', 'mär', 'mrz'],
  ['apr', 'avr', 'abr'],
  ['may', 'mai', 'mag'],
  ['jun', 'juin', 'giu'],
  ['jul', 'juil', 'lug'],
  ['aug', 'août', 'aout', 'ago'],
  ['sep', 'sept', 'set'],
  ['oct', 'okt', 'ott'],
  ['nov'],
  ['dec', 'déc', 'dez', 'dic'],
].forEach((names, month) => names.forEach((n) => (MONTHS[n] = month)))

export function monthIndex(name: string): number | undefined {
  return MONTHS[name.toLowerCase().replace(/\.$/, '')]
}

/** Syslog-style stamps carry no year: assume this year, or last year if that lands in the future. */
export function yearlessEpoch(month: number, day: number, h: number, m: number, s: number, now = Date.now()): number {
  const year = new Date(now).getUTCFullYear()
  let t = Date.UTC(year, month, day, h, m, s)
  if (t > now + 86_400_000) t = Date.UTC(year - 1, month, day, h, m, s)
  return t / 1000
}

export interface PrefixState {
  time?: LogTime
  xen: boolean
}

/** The parser's dmesg -H clock: deltas add up, anchors reset it. */
export interface RelativeClock {
  relativeStamp(m: RegExpExecArray): LogTime
  relativeAnchor(m: RegExpExecArray): LogTime
}

export type PrefixRule = {re: RegExp; /** Matches every char the regex can start with (a superset is fine). */ first: RegExp; apply: (m: RegExpExecArray, p: RelativeClock, st: PrefixState) => void}

/** Date.parse's milliseconds as seconds; undefined when it could not parse the stamp. */
const secondsOf = (ms: number): number | undefined => (Number.isNaN(ms) ? undefined : ms / 1000)

/** Prefixes, tried repeatedly at the start of the line until none matches. Order: most common first. */
export const PREFIX_RULES: PrefixRule[] = [
  // [    0.361089]  and serial-console [ 147.069016]
  {re: /^\[\s*(\d+\.\d+)\]\s?/, first: /^[\[]/, apply: (m, _p, st) => (st.time = {text: m[1]!, style: 'monotonic', seconds: Number(m[1])})},
  // dmesg -H delta: [  +0,000002]  [  +0.000002]
  {re: /^\[\s*\+\s*(\d+)[.,](\d+)\]\s?/, first: /^[\[]/, apply: (m, p, st) => (st.time = p.relativeStamp(m))},
  // dmesg -T: [Thu Oct 22 08:54:51 2020]
  {re: /^\[([A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}))\]\s?/, first: /^[\[]/, apply: (m, _p, st) => {
    const month = monthIndex(m[2]!)
    const seconds = month === undefined ? undefined : Date.UTC(Number(m[7]), month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000
    st.time = {text: m[1]!, style: 'ctime', seconds}
  }},
  // dmesg -H anchor: [févr.27 06:53]  [Nov24 10:00]
  {re: /^\[(([^\d\s\]]+) ?(\d{1,2}) (\d\d):(\d\d))\]\s?/, first: /^[\[]/, apply: (m, p, st) => (st.time = p.relativeAnchor(m))},
  // journal short-iso / rsyslog RFC 3339: 2024-01-09T10:03:12.035211+01:00 host kernel:
  {re: /^((\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) \S+ kernel: ?/, first: /^[\d]/, apply: (m, _p, st) => {
    const seconds = Date.parse(m[1]!.replace(' ', 'T').replace(',', '.'))
    st.time = {text: m[1]!, style: 'iso', seconds: secondsOf(seconds)}
  }},
  // journal short-full: "Mon 2024-01-09 10:03:12 CET host kernel: "
  {re: /^[A-Z][a-z]{2} ((\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)?)(?: [A-Z][A-Za-z0-9+-]{1,5})? \S+ kernel: ?/, first: /^[A-Z]/, apply: (m, _p, st) => {
    const seconds = Date.parse(m[1]!.replace(' ', 'T') + 'Z')
    st.time = {text: m[1]!, style: 'iso', seconds: secondsOf(seconds)}
  }},
  // journal short-unix: "1704791000.035211 host kernel: "
  {re: /^(\d{9,11}\.\d{1,9}) \S+ kernel: ?/, first: /^[\d]/, apply: (m, _p, st) => (st.time = {text: m[1]!, style: 'iso', seconds: Number(m[1])})},
  // dmesg --time-format=iso: "2024-01-09T10:03:12,035211+01:00 " (no host, no "kernel:")
  {re: /^((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:,\d+)?(?:Z|[+-]\d\d:?\d\d)) /, first: /^[\d]/, apply: (m, _p, st) => {
    const seconds = Date.parse(m[1]!.replace(',', '.'))
    st.time = {text: m[1]!, style: 'iso', seconds: secondsOf(seconds)}
  }},
  // dmesg -d: "[  0.361089 <    0.000011>] "
  {re: /^\[\s*(\d+\.\d+) <\s*\d+\.\d+>\]\s?/, first: /^[\[]/, apply: (m, _p, st) => (st.time = {text: m[1]!, style: 'monotonic', seconds: Number(m[1])})},
  // syslog / journal short(-precise): "Jul 19 23:11:56 host kernel: "  "févr. 12 13:47:54 ordi kernel: ",
  // and Xen's console forwarded to syslog under the tag "hypervisor" ("Oct 14 18:41:49.056589 VM hypervisor: (XEN) …")
  {re: /^(([^\d\s]{3,5}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d+)?) \S+ (?:kernel|hypervisor): ?/, first: /^[^\d\s]/, apply: (m, _p, st) => {
    const month = monthIndex(m[2]!)
    const seconds = month === undefined ? undefined
      : yearlessEpoch(month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) + (m[7] ? Number(m[7]) : 0)
    st.time = {text: m[1]!, style: 'syslog', seconds}
  }},
  // rsyslog / syslog-ng RFC 5424: "<4>1 2024-01-09T10:03:12.035211+01:00 host kernel - - - " (structured data "-" or "[…]")
  {re: /^(?:<\d{1,3}>)?1 ((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) \S+ kernel \S+ \S+ (?:-|(?:\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\])+) ?/, first: /^[<1]/, apply: (m, _p, st) => {
    const seconds = Date.parse(m[1]!)
    st.time = {text: m[1]!, style: 'iso', seconds: secondsOf(seconds)}
  }},
  {re: /^<\d{1,3}>/, first: /^[<]/, apply: () => undefined}, // printk level marker
  {re: /^kern\s*:\s*[a-z]+\s*: ?/, first: /^[k]/, apply: () => undefined}, // dmesg -x
  {re: /^\(XEN\) ?/, first: /^[\(]/, apply: (_m, _p, st) => (st.xen = true)},
  // grep's file name and line number ("/var/log/kern.log:", "kern.log.1:", "1234:", "syslog-20240101:1234:")
  // and a pasted listing's line numbers ("12: ", "  12\t", "12 | "), only before a stamp or a syslog line
  {re: /^(?:(?:\/[\w.\/-]+|[\w-]*(?:kern|syslog|messages|dmesg|journal)[\w.-]*|[\w.-]+\.(?:log|txt)(?:\.\d+)?)[:-])?(?:\d{1,7}(?:[:-]|\t| ?\| ?|: | {1,2}))?(?=\[\s*[\d+]|\[[A-Z][a-z]{2} |[A-Z][a-z]{2} [ \d]\d \d\d:|\d{4}-\d\d-\d\d[T ]\d\d:|<\d{1,3}>)/, first: /^[\/\w.-]/, apply: () => undefined},
  // A crash leaves a run of NUL bytes in a syslog file (preallocated blocks never written); a Markdown code span
  {re: /^\x00+/, first: /^[\x00]/, apply: () => undefined},
  {re: /^`+/, first: /^[`]/, apply: () => undefined},
  {re: /^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\] ?/, first: /^[\[]/, apply: (m, _p, st) => {
    const seconds = Date.parse(m[1]!.replace(' ', 'T') + 'Z')
    st.time = {text: m[1]!, style: 'xen', seconds: secondsOf(seconds)}
  }},
  {re: /^\[VT-D\]/, first: /^[\[]/, apply: (_m, _p, st) => (st.xen = true)},
  // printk caller ID after the stamp (CONFIG_PRINTK_CALLER): "[  123.456][    C0] " or "[T15386]"
  {re: /^\[\s*[CT]\d+\]\s?/, first: /^[\[]/, apply: () => undefined},
  // journal short-monotonic after the stamp ("host kernel: "), or a bare "kernel: " (messages files)
  {re: /^(?:[\w.-]+ )?kernel: ?/, first: /^[\w.-]/, apply: () => undefined},
  // mail and markdown quoting ("> ", ">> ", "> > ") and commit-message quote bars ("| ")
  {re: /^(?:>[ \t]?)+/, first: /^[>]/, apply: () => undefined},
  {re: /^\|[ \t]+/, first: /^[|]/, apply: () => undefined},
  {re: /^[ \t]+/, first: /^[ \t]/, apply: () => undefined}, // indentation (rst/mail quotes, continuation lines)
]

/**
 * The rules that can match a line starting with each ASCII char, in table order (a rule whose
 * regex cannot begin with that char is left out; the first match is still the same). Lines that
 * start beyond ASCII try the whole table.
 */
export const PREFIX_RULES_BY_CHAR: PrefixRule[][] = Array.from({length: 128}, (_, c) => PREFIX_RULES.filter((r) => r.first.test(String.fromCharCode(c))))

/** Terminal colours (dmesg --color=always, a captured `script` session): removed before anything else. */
export const ANSI_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/g

/** "[  12.345678] " — the commonest prefix by far, taken without the rule loop. */
export const MONOTONIC_FAST = /^\[\s*(\d+\.\d+)\] ?/
/** After a monotonic stamp only these can follow (journal short-monotonic "host kernel:", Xen, the printk caller ID, indentation). */
export const AFTER_MONOTONIC = /^(?:[\w.-]+ )?kernel: ?|^\[VT-D\]|^\(XEN\) ?|^\[\s*[CT]\d+\]\s?|^[ \t]+/

/** dmesg -H stamps (a "+delta" or a "[Mon DD HH:MM]" anchor): the only stamps skipped lines must still feed. */
export const RELATIVE_STAMP = /^\[\s*\+|^\[[^\d\s\]]+ ?\d{1,2} \d\d:\d\d\]/
