/**
 * vtd-check(1) in roff (man(7) macros), generated from oclif.manifest.json: the same summaries,
 * descriptions, flags and examples as `--help`, so the page cannot drift from the commands.
 * Pure: manifest in, text out (scripts/gen-man.mjs writes it at build time).
 */
import type {Command, Interfaces} from '@oclif/core'

export interface ManPageInput {
  bin: string
  version: string
  /** One line under NAME. */
  description: string
  manifest: Interfaces.Manifest
  /** Commands that are not the project's own (e.g. a plugin's) and so stay off the page. */
  omit?: (id: string) => boolean
  /** Page date (YYYY-MM-DD); fixed by the caller so builds are reproducible. */
  date: string
}

const EXIT_STATUS: Array<[number, string]> = [
  [0, 'every applicable check passes (warnings allowed)'],
  [1, 'at least one check fails'],
  [2, 'usage error (unknown flag, bad argument, unreadable input file)'],
  [3, 'no failure, but something could not be assessed (typically: not run as root)'],
]

/**
 * Text as roff reads it: backslashes and hyphens escaped, characters beyond ASCII as \[uXXXX]
 * (groff reads its input as Latin-1 unless preconv runs), no line starting with a control character.
 */
export function roffText(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`)
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n')
}

const bold = (text: string) => `\\fB${roffText(text)}\\fR`
const italic = (text: string) => `\\fI${roffText(text)}\\fR`

type FlagEntry = Command.Flag.Cached

function flagUsage(flag: FlagEntry): string {
  const names = `${flag.char ? `${bold(`-${flag.char}`)}, ` : ''}${bold(`--${flag.name}`)}`
  return flag.type === 'option' ? `${names} ${italic(flag.name.toUpperCase().replaceAll('-', '_'))}` : names
}

function flagText(flag: FlagEntry): string {
  const sentence = (text: string) => (/[.!?)]$/.test(text) || !text ? text : `${text}.`)
  const parts = [sentence(flag.summary ?? flag.description ?? '')]
  if (flag.type === 'option' && flag.options?.length) parts.push(`One of: ${flag.options.join(', ')}.`)
  if (flag.type === 'option' && flag.default !== undefined && typeof flag.default !== 'function') parts.push(`Default: ${String(flag.default)}.`)
  if (flag.type === 'option' && flag.multiple) parts.push('May be given more than once.')
  return roffText(parts.filter(Boolean).join(' '))
}

function paragraphs(text: string): string[] {
  return text.split(/\n+/).map((p) => p.trim()).filter(Boolean).flatMap((p) => ['.PP', roffText(p)])
}

function example(text: string, bin: string): string[] {
  return ['.PP', '.RS 4', '.nf', roffText(text.replaceAll('<%= config.bin %>', bin)), '.fi', '.RE']
}

export function renderManPage(input: ManPageInput): string {
  const {bin, manifest} = input
  const commands = Object.values(manifest.commands)
    .filter((c) => !c.hidden && !(input.omit?.(c.id) ?? false))
    .sort((a, b) => a.id.localeCompare(b.id))
  const isGlobal = (flag: FlagEntry) => flag.helpGroup === 'GLOBAL'
  const globalFlags = new Map<string, FlagEntry>()
  for (const c of commands) for (const f of Object.values(c.flags)) if (isGlobal(f) && !f.hidden) globalFlags.set(f.name, f)

  const out: string[] = [
    `.TH ${bin.toUpperCase()} 1 "${input.date}" "${roffText(`${bin} ${input.version}`)}" "User Commands"`,
    '.SH NAME',
    `${roffText(bin)} \\- ${roffText(input.description)}`,
    '.SH SYNOPSIS',
    `${bold(bin)} [${italic('COMMAND')}] [${italic('FLAGS')}]`,
    '.br',
    `${bold(bin)} ${italic('COMMAND')} ${bold('--help')}`,
    '.SH DESCRIPTION',
    roffText(`${bin} reads sysfs, the ACPI DMAR table, PCI config space, the remapping units' registers and the kernel log, and replays the rules the hardware and the kernel apply. It never writes to the host. Without a command it runs "check".`),
    '.SH COMMANDS',
  ]
  for (const c of commands) {
    const args = Object.values(c.args ?? {}).map((a) => (a.required ? italic(a.name.toUpperCase()) : `[${italic(a.name.toUpperCase())}]`))
    out.push('.SS', `${bold(`${bin} ${c.id}`)}${args.length ? ` ${args.join(' ')}` : ''} [${italic('FLAGS')}]`)
    if (c.summary) out.push(roffText(c.summary))
    if (c.description) out.push(...paragraphs(c.description))
    for (const a of Object.values(c.args ?? {})) if (a.description) out.push('.TP', italic(a.name.toUpperCase()), roffText(a.description))
    for (const f of Object.values(c.flags)) if (!isGlobal(f) && !f.hidden) out.push('.TP', flagUsage(f), flagText(f))
    const examples = (c.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command))
    if (examples.length) out.push('.PP', 'Examples:', ...examples.flatMap((e) => example(e, bin)))
  }
  out.push('.SH GLOBAL FLAGS', 'Every command takes:')
  for (const f of globalFlags.values()) out.push('.TP', flagUsage(f), flagText(f))
  out.push('.SH EXIT STATUS')
  for (const [code, meaning] of EXIT_STATUS) out.push('.TP', bold(String(code)), roffText(meaning))
  out.push(
    '.SH FILES',
    '.TP', italic('/sys/kernel/iommu_groups, /sys/class/iommu, /sys/bus/pci/devices'), 'IOMMU groups, remapping units and PCI functions.',
    '.TP', italic('/sys/firmware/acpi/tables/DMAR'), 'The ACPI DMAR table (readable by root only).',
    '.TP', italic('/usr/share/misc/pci.ids, /usr/share/hwdata/pci.ids'), 'Vendor and device names, when installed.',
    '.SH SEE ALSO',
    `${bold('lspci')}(8), ${bold('dmesg')}(1), ${bold('journalctl')}(1)`,
  )
  return `${out.join('\n')}\n`
}
