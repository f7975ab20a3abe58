/**
 * Every command, by id, for the standalone executable: a single bundled file has no commands/
 * directory for oclif to scan, so packaging/sea-main.ts hands oclif this map (its "explicit"
 * command discovery). The npm build keeps scanning dist/commands, which loads only the command
 * that runs. A test fails when a file in commands/ is missing here.
 */
import Capture from '../commands/capture.js'
import Check from '../commands/check.js'
import Device from '../commands/device.js'
import Diff from '../commands/diff.js'
import Dmar from '../commands/dmar.js'
import Faults from '../commands/faults.js'
import Fleet from '../commands/fleet.js'
import Groups from '../commands/groups.js'
import Help from '../commands/help.js'
import Iort from '../commands/iort.js'
import Ivrs from '../commands/ivrs.js'
import Replay from '../commands/replay.js'
import Report from '../commands/report.js'
import Units from '../commands/units.js'
import Version from '../commands/version.js'

export const COMMANDS = {
  capture: Capture,
  check: Check,
  device: Device,
  diff: Diff,
  dmar: Dmar,
  faults: Faults,
  fleet: Fleet,
  groups: Groups,
  help: Help,
  iort: Iort,
  ivrs: Ivrs,
  replay: Replay,
  report: Report,
  units: Units,
  version: Version,
}
