/**
 * Every shell command vtd-check tells a user to run (check remediation, passthrough plans, fault
 * explanations) over every snapshot in sysfs-fixtures/ and the real kernel logs is correct as
 * written: `bash -n` parses it, sysfs/proc/etc writes go through `| sudo tee` (never
 * `sudo echo > …`), and a plan run twice in a simulated sysfs changes nothing the second time.
 * The advice names the hypervisor actually detected.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import Faults from '../commands/faults.js'
import {assessHost} from '../src/checks/assess.js'
import type {PassthroughPlan} from '../src/checks/plan.js'
import {guestIommuAdvice, guestNestedAdvice, kernelCommandLineCommands, persistVfioIds, vfioBindCommands} from '../src/checks/remediation.js'
import {openRoot} from '../src/host/snapshot.js'
import type {BootFacts} from '../src/model/boot.js'
import {detectBoot} from '../src/model/boot.js'
import {detectHypervisor, type HypervisorKind} from '../src/model/hypervisor.js'
import {captureCommandOutput} from './support/command-output.js'
import {modelAt} from './support/model.js'
import {fixturesDir, realData, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const snapshots = readdirSync(fixturesDir).filter((name) => statSync(path.join(fixturesDir, name)).isDirectory()).sort()

/** Words that start a command meant for a shell (on this host, or on the hypervisor's host for VBoxManage/xl). */
const SHELL_START = /^(?:(?:sudo|echo|grep|modprobe|vtd-check|journalctl|dmesg|cat|lspci|VBoxManage|xl)\b|for \w+ in |\[ )/

/** The shell commands in one piece of advice: the whole string, `backticked` spans, and "(echo … )" asides. */
function shellCommandsIn(advice: string): string[] {
  const text = advice.replace(/^→\s*/, '').trim()
  if (SHELL_START.test(text)) return [text]
  const spans = [...text.matchAll(/`([^`]+)`/g), ...text.matchAll(/\(((?:echo|sudo) [^)]*)\)/g)].map((m) => (m[1] ?? '').trim())
  return spans.filter((span) => SHELL_START.test(span))
}

interface Advice {
  where: string
  text: string
}

const plansSeen: Array<{where: string; plan: PassthroughPlan; drivers: Map<string, string | undefined>}> = []

async function adviceOfSnapshot(name: string): Promise<Advice[]> {
  const model = await modelAt(openRoot(path.join(fixturesDir, name)))
  const devices = [...model.devices.keys()]
  const report = assessHost(model, {devices})
  const out: Advice[] = []
  for (const r of report.results) for (const text of r.remediation) out.push({where: `${name} ${r.id}${r.subject ? ` ${r.subject}` : ''}`, text})
  for (const plan of report.plans) {
    const where = `${name} plan ${plan.device}`
    plansSeen.push({where, plan, drivers: new Map(devices.map((bdf) => [bdf, model.devices.get(bdf)?.driver]))})
    const {bindNow, persist, kernelCommandLine, firmware, otherMethods} = plan.commands
    for (const text of [...bindNow, ...persist, ...kernelCommandLine]) {
      out.push({where, text})
      expect(shellCommandsIn(text), `${where}: every plan command is a shell command: ${text}`).toEqual([text])
    }
    for (const text of [...firmware, ...otherMethods, ...plan.blockers.flatMap((b) => b.fix), ...plan.warnings.flatMap((w) => w.fix)]) out.push({where, text})
  }
  return out
}

async function adviceOfLog(file: string): Promise<Advice[]> {
  output.stdout = ''
  await Faults.run([file, '--json', '--detail', '1000'], repoRoot).catch(() => undefined)
  if (output.stdout.trim() === '') return []
  const report = JSON.parse(output.stdout) as {faults: Array<{explanation?: {remediation: string[]}}>}
  return report.faults.flatMap((f) => (f.explanation?.remediation ?? []).map((text) => ({where: path.basename(file), text})))
}

function bashParses(command: string): string | undefined {
  try {
    execFileSync('bash', ['-n', '-c', command], {stdio: 'pipe'})
    return undefined
  } catch (error) {
    return String((error as {stderr?: Buffer}).stderr ?? error)
  }
}

/** The rules every command obeys, whatever it does. */
function ruleBreaks(command: string): string[] {
  const broken: string[] = []
  if (/\bsudo\s+echo\b[^|]*>/.test(command)) broken.push('`sudo echo > file` redirects as the user: use `| sudo tee`')
  if (/(^|[^|2&])>>?\s*['"]?\/(sys|proc|etc)\//.test(command)) broken.push('a shell redirect into /sys, /proc or /etc: use `| sudo tee`')
  if (/\|\s*tee\b/.test(command)) broken.push('tee without sudo cannot write root-owned files')
  if (/\btee\b(?![^|]*\/(sys|proc|etc|dev)\/)/.test(command.replace(/^.*\|\s*sudo\s+/, ''))) broken.push('tee into a path outside /sys, /proc, /etc')
  return broken
}

describe('every command in every plan and piece of advice', () => {
  const advice: Advice[] = []

  it('is collected from all snapshots and the real kernel logs', async () => {
    for (const name of snapshots) advice.push(...(await adviceOfSnapshot(name)))
    const logs = [
      ...snapshots.map((name) => path.join(fixturesDir, name, 'dmesg.txt')),
      ...readdirSync(path.join(realData, 'dmesg'))
        .filter((f) => f.endsWith('.log'))
        .map((f) => path.join(realData, 'dmesg', f)),
    ].filter((file) => {
      try {
        return statSync(file).isFile()
      } catch {
        return false
      }
    })
    for (const file of logs) advice.push(...(await adviceOfLog(file)))
    const commands = advice.flatMap((a) => shellCommandsIn(a.text))
    // Plans on the lab snapshots bind, persist and change the command line; faults advise resets.
    expect(commands.some((c) => c.includes('drivers_probe'))).toBe(true)
    expect(commands.some((c) => c.includes('/etc/modprobe.d/vfio.conf'))).toBe(true)
    expect(commands.some((c) => c.includes('/etc/default/grub'))).toBe(true)
    expect(commands.length).toBeGreaterThan(50)
  })

  it('parses with `bash -n`, and writes only through `| sudo tee` (no `sudo echo >`, no redirect into /sys)', () => {
    const unique = new Map<string, string>()
    for (const a of advice) for (const command of shellCommandsIn(a.text)) unique.set(command.replace(/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/g, '0000:00:00.0'), a.where)
    expect(unique.size).toBeGreaterThan(10)
    const failures: string[] = []
    for (const [command, where] of unique) {
      const parse = bashParses(command)
      if (parse !== undefined) failures.push(`${where}: bash -n: ${parse.trim()}\n  ${command}`)
      for (const broken of ruleBreaks(command)) failures.push(`${where}: ${broken}\n  ${command}`)
    }
    expect(failures).toEqual([])
  })

  it('the rules catch what they are meant to catch', () => {
    expect(ruleBreaks('sudo echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override')).not.toEqual([])
    expect(ruleBreaks('echo 1 > /sys/bus/pci/rescan')).not.toEqual([])
    expect(ruleBreaks('echo 1 | tee /sys/bus/pci/rescan')).not.toEqual([])
    expect(ruleBreaks('echo 1 | sudo tee /sys/bus/pci/rescan')).toEqual([])
    expect(bashParses('echo "unterminated | sudo tee /x')).toBeDefined()
    expect(shellCommandsIn('if it should be idle, reset it (echo 1 | sudo tee /sys/bus/pci/devices/BDF/reset) and find who programs it')).toEqual([
      'echo 1 | sudo tee /sys/bus/pci/devices/BDF/reset',
    ])
    expect(shellCommandsIn('explain them: `vtd-check faults`; libvirt `<iommu model="intel"/>`')).toEqual(['vtd-check faults'])
  })
})

// ---- running plans twice in a simulated sysfs -------------------------------------------------

const sandboxes: string[] = []
afterAll(() => {
  for (const dir of sandboxes) rmSync(dir, {recursive: true, force: true})
})

/**
 * Shell functions standing in for root and the kernel: sysfs writes do what the PCI core does
 * (unbind drops the driver link, drivers_probe binds to the driver_override), and every change
 * is logged as an event, so a second run must log none.
 */
const KERNEL_SIMULATION = String.raw`
sudo() { "$@"; }
modprobe() { :; }
update-initramfs() { echo "initramfs rebuilt" >> "$S/rebuilds"; }
dracut() { echo "initramfs rebuilt" >> "$S/rebuilds"; }
update-grub() { echo "grub.cfg rebuilt" >> "$S/rebuilds"; }
driverctl() { mkdir -p "$S/etc/driverctl.d"; printf '%s\n' "$3" > "$S/etc/driverctl.d/pci-$2"; }
tee() {
  local append=0; if [ "$1" = -a ]; then append=1; shift; fi
  local target=$1 input; input=$(cat); printf '%s\n' "$input"
  case "$target" in
    */driver/unbind)
      local dev; dev=$(dirname "$(dirname "$target")")
      [ "$(basename "$dev")" = "$input" ] || { echo "unbind of $input through $dev" >&2; return 1; }
      rm "$dev/driver"; echo "unbind $input" >> "$S/events" ;;
    */drivers_probe)
      local dev="$S/sys/bus/pci/devices/$input" override
      override=$(cat "$dev/driver_override" 2>/dev/null || true)
      if [ ! -e "$dev/driver" ] && [ -n "$override" ] && [ "$override" != "(null)" ]; then
        ln -s "../../drivers/$override" "$dev/driver"; echo "bind $input $override" >> "$S/events"
      fi ;;
    *)
      if [ "$append" = 1 ]; then printf '%s\n' "$input" >> "$target"; echo "append $target" >> "$S/events"
      else printf '%s\n' "$input" > "$target"; fi ;;
  esac
}
`

/** A sandbox whose sys/ holds the plan's devices with their drivers, and whose etc/ a GRUB config. */
function sandboxFor(devices: Map<string, string | undefined>, grub: string): string {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'vtd-remedy-')))
  sandboxes.push(root)
  const drivers = path.join(root, 'sys/bus/pci/drivers')
  mkdirSync(path.join(drivers, 'vfio-pci'), {recursive: true})
  for (const [bdf, driver] of devices) {
    const dir = path.join(root, 'sys/bus/pci/devices', bdf)
    mkdirSync(dir, {recursive: true})
    writeFileSync(path.join(dir, 'driver_override'), '(null)\n')
    if (driver !== undefined) {
      mkdirSync(path.join(drivers, driver), {recursive: true})
      symlinkSync(`../../drivers/${driver}`, path.join(dir, 'driver'))
    }
  }
  mkdirSync(path.join(root, 'etc/modprobe.d'), {recursive: true})
  mkdirSync(path.join(root, 'etc/default'), {recursive: true})
  writeFileSync(path.join(root, 'etc/default/grub'), grub)
  return root
}

/** Run commands in the sandbox: absolute /sys and /etc paths point into it. */
function runInSandbox(root: string, commands: string[]): {events: string; state: string} {
  const rebased = commands.map((c) => c.replace(/(^|[\s'"=|])\/(sys|etc)\//g, `$1${root}/$2/`))
  writeFileSync(path.join(root, 'events'), '')
  execFileSync('bash', ['-e', '-c', `${KERNEL_SIMULATION}\n${rebased.join('\n')}`], {env: {...process.env, S: root, PATH: process.env.PATH ?? ''}, stdio: 'pipe'})
  return {events: readFileSync(path.join(root, 'events'), 'utf8'), state: sandboxState(root)}
}

/** Every file's content and every link's target under sys/ and etc/. */
function sandboxState(root: string): string {
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name)
      if (entry.isSymbolicLink()) out.push(`${full} -> ${readlinkSafe(full)}`)
      else if (entry.isDirectory()) walk(full)
      else out.push(`${full}: ${readFileSync(full, 'utf8')}`)
    }
  }
  walk(path.join(root, 'sys'))
  walk(path.join(root, 'etc'))
  return out.join('\n')
}

function readlinkSafe(file: string): string {
  return execFileSync('readlink', [file]).toString().trim()
}

const GRUB_WITH_OFF = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="console=ttyS0 intel_iommu=off"\n'

describe('a plan run twice changes nothing the second time (simulated sysfs)', () => {
  it('every plan over all snapshots: first run binds everything to vfio-pci, second run is a no-op', () => {
    const seen = new Set<string>()
    let ran = 0
    for (const {where, plan, drivers} of plansSeen) {
      const {bindNow, persist, kernelCommandLine} = plan.commands
      const commands = [...bindNow, ...persist, ...kernelCommandLine]
      const key = commands.join('\n').replace(/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/g, 'BDF')
      if (commands.length === 0 || seen.has(key)) continue
      seen.add(key)
      const root = sandboxFor(drivers, GRUB_WITH_OFF)
      const first = runInSandbox(root, commands)
      const second = runInSandbox(root, commands)
      expect(second.events, `${where}: the second run changed something`).toBe('')
      expect(second.state, where).toBe(first.state)
      const endpoints = [plan.device, ...plan.bindWithIt.map((d) => d.bdf)].filter((bdf) => !plan.mayStayOnHost.some((b) => b.bdf === bdf))
      for (const bdf of endpoints)
        if (bindNow.length > 0) expect(first.state, `${where}: ${bdf} ends on vfio-pci`).toContain(`devices/${bdf}/driver -> ../../drivers/vfio-pci`)
      ran++
    }
    expect(ran).toBeGreaterThanOrEqual(3)
  })

  it('a device already on vfio-pci is not unbound, a device with no driver is only probed', () => {
    const root = sandboxFor(new Map([['0000:01:00.0', 'vfio-pci'], ['0000:02:00.0', undefined], ['0000:03:00.0', 'nvme']]), '')
    const commands = vfioBindCommands([{bdf: '0000:01:00.0', driver: 'nvme'}, {bdf: '0000:02:00.0'}, {bdf: '0000:03:00.0', driver: 'nvme'}])
    const first = runInSandbox(root, commands)
    expect(first.events.split('\n').filter(Boolean)).toEqual(['bind 0000:02:00.0 vfio-pci', 'unbind 0000:03:00.0', 'bind 0000:03:00.0 vfio-pci'])
    expect(runInSandbox(root, commands).events).toBe('')
  })

  it('modprobe.d lines are appended once, however often the persist block runs', () => {
    const root = sandboxFor(new Map(), '')
    const boot: BootFacts = {loader: 'grub', distro: 'debian', evidence: []}
    const {commands} = persistVfioIds(['10de:2204', '10de:1aef'], ['nouveau', 'snd_hda_intel'], boot)
    runInSandbox(root, commands)
    runInSandbox(root, commands)
    expect(readFileSync(path.join(root, 'etc/modprobe.d/vfio.conf'), 'utf8')).toBe(
      'softdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\noptions vfio-pci ids=10de:2204,10de:1aef\n',
    )
  })

  it('an ids= already in modprobe.d is extended, not shadowed by a second line (the last ids= wins)', () => {
    const root = sandboxFor(new Map(), '')
    writeFileSync(path.join(root, 'etc/modprobe.d/gpu-passthrough.conf'), '# the NIC for the router VM\noptions vfio-pci ids=8086:1533 disable_vga=1\n')
    const boot: BootFacts = {loader: 'grub', distro: 'debian', evidence: []}
    const {commands} = persistVfioIds(['10de:2204', '8086:1533', '10de:1aef'], ['nouveau'], boot)
    runInSandbox(root, commands)
    runInSandbox(root, commands)
    expect(readFileSync(path.join(root, 'etc/modprobe.d/gpu-passthrough.conf'), 'utf8')).toBe('# the NIC for the router VM\noptions vfio-pci ids=8086:1533,10de:2204,10de:1aef disable_vga=1\n')
    expect(readFileSync(path.join(root, 'etc/modprobe.d/vfio.conf'), 'utf8')).toBe('softdep nouveau pre: vfio-pci\n')
  })

  it('a vfio-pci.ids= on the kernel command line (which overrides modprobe.d) is where the IDs are added', () => {
    const root = sandboxFor(new Map(), 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="intel_iommu=on vfio-pci.ids=8086:1533"\n')
    const boot: BootFacts = {loader: 'grub', distro: 'debian', evidence: []}
    const onCmdline = {ids: ['8086:1533'], via: ['vfio-pci.ids=8086:1533']}
    const {commands, otherwise} = persistVfioIds(['10de:2204', '10de:1aef'], [], boot, onCmdline)
    runInSandbox(root, commands)
    runInSandbox(root, commands)
    expect(readFileSync(path.join(root, 'etc/default/grub'), 'utf8')).toBe('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="vfio-pci.ids=8086:1533,10de:2204,10de:1aef intel_iommu=on "\n')
    expect(readdirSync(path.join(root, 'etc/modprobe.d'))).toEqual([])
    expect(otherwise).toMatch(/already sets vfio-pci\.ids=8086:1533/)
  })

  it('GRUB: removes intel_iommu=off and adds intel_iommu=on exactly once, keeping the other parameters', () => {
    const root = sandboxFor(new Map(), GRUB_WITH_OFF)
    const {commands} = kernelCommandLineCommands({add: ['intel_iommu=on', 'iommu=pt'], remove: ['intel_iommu=off']}, {loader: 'grub', distro: 'debian', evidence: []})
    runInSandbox(root, commands)
    const once = readFileSync(path.join(root, 'etc/default/grub'), 'utf8')
    runInSandbox(root, commands)
    expect(readFileSync(path.join(root, 'etc/default/grub'), 'utf8')).toBe(once)
    expect(once).toContain('GRUB_CMDLINE_LINUX="iommu=pt intel_iommu=on console=ttyS0 "')
    expect(once).toContain('GRUB_CMDLINE_LINUX_DEFAULT="quiet"')
  })
})

describe('one persistence method per plan, chosen from what the host shows', () => {
  const boots: Array<[string, string, BootFacts['loader'], RegExp, RegExp]> = [
    ['BOOT_IMAGE=/boot/vmlinuz-6.1.0-20-amd64 root=UUID=x ro quiet', 'Linux version 6.1.0-20-amd64 (debian-kernel@lists.debian.org)', 'grub', /update-grub/, /grubby/],
    ['BOOT_IMAGE=(hd0,gpt2)/vmlinuz-5.14.0-427.el9.x86_64 root=/dev/mapper/rhel-root ro', 'Linux version 5.14.0-427.el9.x86_64 (mockbuild@x86-64-01.build.eng.rdu2.redhat.com)', 'grub', /grubby --update-kernel=ALL/, /update-grub\b(?!`)/],
    ['initrd=\\EFI\\Pop_OS-1234\\initrd.img root=UUID=x ro quiet', 'Linux version 6.9.3-76060903-generic (jenkins@warp.pop-os.org)', 'kernelstub', /kernelstub -a/, /GRUB_CMDLINE_LINUX="/],
    ['initrd=\\arch\\initramfs-linux.img root=/dev/sda2 rw', 'Linux version 6.9.7-arch1-1 (linux@archlinux)', 'systemd-boot', /loader\/entries/, /update-grub/],
  ]
  for (const [cmdline, version, loader, uses, notUsed] of boots)
    it(`${loader} (${version.split(' ')[2]}): commands for it alone, the others named in one line`, () => {
      const boot = detectBoot(cmdline, version, undefined)
      expect(boot.loader).toBe(loader)
      const {commands, otherwise} = kernelCommandLineCommands({add: ['intel_iommu=on'], remove: ['intel_iommu=off']}, boot)
      expect(commands.join('\n')).toMatch(uses)
      expect(commands.join('\n')).not.toMatch(notUsed)
      expect(otherwise.split('\n')).toHaveLength(1)
      // The other ways carry this change too: a parameter removed is never shown as one to add.
      if (loader !== 'kernelstub') expect(otherwise).toContain('`sudo kernelstub -a intel_iommu=on`, `sudo kernelstub -d intel_iommu=off`')
      if (!uses.test('grubby --update-kernel=ALL')) expect(otherwise).toContain('`sudo grubby --update-kernel=ALL --args=intel_iommu=on --remove-args=intel_iommu=off`')
      expect(otherwise).not.toContain('…')
      for (const command of commands) {
        expect(bashParses(command)).toBeUndefined()
        expect(ruleBreaks(command)).toEqual([])
      }
    })

  it('lab snapshots (a Debian kernel booted without a boot loader) get GRUB + update-grub, and say GRUB was assumed', async () => {
    const model = await modelAt(openRoot(path.join(fixturesDir, 'lab-iommu-off')))
    const plan = assessHost(model, {devices: ['0000:02:00.0']}).plans[0]
    expect(plan?.commands.kernelCommandLine.at(-1)).toBe('sudo update-grub')
    expect(plan?.commands.otherMethods.join('\n')).toContain('GRUB assumed')
    // vfio-pci.ids is offered once: as modprobe.d lines, with the kernel parameter named as the other way.
    expect(plan?.commands.kernelParameters.some((p) => p.startsWith('vfio-pci.ids'))).toBe(false)
  })
})

describe('advice for the hypervisor actually detected', () => {
  it('the committed snapshots: Firecracker (ACPI OEM FIRECK) and QEMU (DMI)', async () => {
    const dev = await modelAt(openRoot(path.join(fixturesDir, 'dev-vm-no-iommu')))
    expect(dev.hypervisor).toMatchObject({guest: true, kind: 'firecracker'})
    // Its boot log names the OEM on both the RSDT and the XSDT line: one piece of evidence, without the ')'.
    expect(dev.hypervisor.evidence.filter((e) => e.fact.startsWith('ACPI tables built by')).map((e) => e.fact)).toEqual(['ACPI tables built by FIRECK'])
    const lab = await modelAt(openRoot(path.join(fixturesDir, 'lab-iommu-on')))
    expect(lab.hypervisor).toMatchObject({guest: true, kind: 'qemu'})
    const report = assessHost(dev, {})
    const fix = report.results.find((r) => r.id === 'platform.dma-remapping')?.remediation.join('\n') ?? ''
    expect(fix).toContain('Firecracker')
    expect(fix).not.toMatch(/^give this VM an emulated IOMMU: QEMU/)
    // No IOMMU here: nothing says VFIO still works.
    expect(JSON.stringify(report.results)).not.toMatch(/VFIO[^"]*still works/)
  })

  // DMI values as the hypervisors publish them (systemd's src/basic/virt.c dmi_vendor_table lists the same).
  const DMI: Array<[string, string, HypervisorKind, RegExp, string?]> = [
    ['VMware, Inc.', 'VMware Virtual Platform', 'vmware', /Expose IOMMU to the guest OS/],
    ['Microsoft Corporation', 'Virtual Machine', 'hyper-v', /Discrete Device Assignment/],
    ['innotek GmbH', 'VirtualBox', 'virtualbox', /VBoxManage modifyvm <vm> --iommu/],
    ['Xen', 'HVM domU', 'xen', /xl pci-assignable-add/],
    ['Amazon EC2', 'm5.large', 'kvm', /\*\.metal/, 'aws'],
    ['Google', 'Google Compute Engine', 'kvm', /-metal/, 'gcp'],
    ['QEMU', 'Standard PC (Q35 + ICH9, 2009)', 'qemu', /-device intel-iommu/],
  ]
  for (const [sysVendor, productName, kind, knob, cloud] of DMI)
    it(`${sysVendor} ${productName}: ${cloud ?? kind}, and its own knob`, () => {
      const hv = detectHypervisor({cpuHypervisorFlag: true, dmi: {sysVendor, productName}, logLines: []})
      expect(hv.kind).toBe(kind)
      expect(hv.cloud).toBe(cloud)
      const advice = guestIommuAdvice(hv, 'intel')
      expect(advice).toMatch(knob)
      if (kind !== 'qemu') expect(advice).not.toMatch(/QEMU/)
      expect(guestNestedAdvice(hv, 'intel')).not.toBe(guestNestedAdvice(detectHypervisor({cpuHypervisorFlag: true, dmi: {}, logLines: []}), 'intel'))
    })

  it('Azure is told from plain Hyper-V by its chassis asset tag, and gets Azure\'s knobs (VM sizes), not the Hyper-V host\'s PowerShell', () => {
    const dmi = {sysVendor: 'Microsoft Corporation', productName: 'Virtual Machine'}
    const azure = detectHypervisor({cpuHypervisorFlag: true, dmi: {...dmi, chassisAssetTag: '7783-7084-3265-9085-8269-3286-77'}, logLines: []})
    expect(azure).toMatchObject({guest: true, kind: 'hyper-v', cloud: 'azure'})
    expect(guestIommuAdvice(azure, 'intel')).toMatch(/^this is a Microsoft Azure VM .*N-series/)
    expect(guestIommuAdvice(azure, 'intel')).not.toMatch(/Add-VMAssignableDevice/)
    expect(guestNestedAdvice(azure, 'intel')).toMatch(/resize the VM/)
    expect(guestNestedAdvice(azure, 'intel')).not.toMatch(/-ExposeVirtualizationExtensions \$true`$/)
    // An on-premises Hyper-V guest: SMBIOS leaves the tag at a placeholder.
    const hyperV = detectHypervisor({cpuHypervisorFlag: true, dmi: {...dmi, chassisAssetTag: 'None'}, logLines: []})
    expect(hyperV).toMatchObject({guest: true, kind: 'hyper-v'})
    expect(hyperV.cloud).toBeUndefined()
    expect(guestNestedAdvice(hyperV, 'intel')).toMatch(/Set-VMProcessor -VMName <vm>/)
  })

  it('the chassis asset tag is collected from the snapshot and reaches check\'s advice', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'vtd-azure-'))
    try {
      execFileSync('cp', ['-a', `${path.join(fixturesDir, 'dev-vm-no-iommu')}/.`, root])
      const dmiDir = path.join(root, 'sys/class/dmi/id')
      mkdirSync(dmiDir, {recursive: true})
      writeFileSync(path.join(dmiDir, 'sys_vendor'), 'Microsoft Corporation\n')
      writeFileSync(path.join(dmiDir, 'product_name'), 'Virtual Machine\n')
      writeFileSync(path.join(dmiDir, 'chassis_asset_tag'), '7783-7084-3265-9085-8269-3286-77\n')
      const model = await modelAt(openRoot(root))
      expect(model.hypervisor).toMatchObject({kind: 'hyper-v', cloud: 'azure'})
      const fix = assessHost(model, {}).results.find((r) => r.id === 'platform.dma-remapping')?.remediation.join('\n') ?? ''
      expect(fix).toContain('Microsoft Azure VM')
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  it('the boot log alone: "Hypervisor detected: Microsoft Hyper-V", Xen from /sys/hypervisor/type', () => {
    expect(detectHypervisor({cpuHypervisorFlag: true, dmi: {}, logLines: ['[    0.000000] Hypervisor detected: Microsoft Hyper-V']}).kind).toBe('hyper-v')
    expect(detectHypervisor({cpuHypervisorFlag: false, dmi: {}, hypervisorType: 'xen', logLines: []})).toMatchObject({guest: true, kind: 'xen'})
    expect(detectHypervisor({cpuHypervisorFlag: false, dmi: {sysVendor: 'Dell Inc.', productName: 'PowerEdge R740'}, logLines: []})).toEqual({guest: false, evidence: []})
  })

  it('an arm64 guest booted from its VMM\'s device tree (no DMI, no CPU flag): "Machine model: linux,dummy-virt" is QEMU\'s virt', () => {
    expect(detectHypervisor({cpuHypervisorFlag: false, dmi: {}, logLines: ['[    0.000000] Machine model: linux,dummy-virt']})).toMatchObject({guest: true, kind: 'qemu'})
    expect(detectHypervisor({cpuHypervisorFlag: false, dmi: {}, logLines: ['[    0.000000] Machine model: Raspberry Pi 4 Model B Rev 1.4']})).toEqual({guest: false, evidence: []})
  })
})
