/**
 * The set-up and lab scripts run under `set -o pipefail`. There a `producer | grep -q` is a race:
 * grep exits at its first match, a producer still writing dies of SIGPIPE, and the pipeline
 * "fails" although the match was found. CI lost a run to exactly this (`busybox --list`, which
 * writes one applet per write, read as "busybox with devmem missing").
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const shellScripts = ['.ci', 'lab', 'packaging', 'scripts'].flatMap((dir) =>
  readdirSync(path.join(repoRoot, dir)).filter((f) => f.endsWith('.sh') || f === 'run').map((f) => `${dir}/${f}`))

describe('shell scripts under pipefail', () => {
  it('no pipefail script pipes a command into `grep -q`', () => {
    const offenders: string[] = []
    for (const file of shellScripts) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8')
      if (!/set -[a-z]*o pipefail|set -o pipefail/.test(text)) continue
      text.split('\n').forEach((line, i) => {
        if (/\|\s*grep\s+-[a-zA-Z]*q/.test(line) && !line.trimStart().startsWith('#')) offenders.push(`${file}:${i + 1}: ${line.trim()}`)
      })
    }
    expect(shellScripts).toContain('lab/run.sh')
    expect(offenders).toEqual([])
  })

  describe('lab/run.sh --check finds devmem in a busybox that writes its list slowly', () => {
    const fakeBin = mkdtempSync(path.join(tmpdir(), 'vtd-fake-busybox-'))
    afterAll(() => rmSync(fakeBin, {recursive: true, force: true}))
    // One applet per write, and a pause after "devmem" so a reader that stops there closes the pipe first.
    const fakeBusybox = (applets: string[]) => {
      const file = path.join(fakeBin, 'busybox')
      writeFileSync(file, `#!/bin/sh\n[ "$1" = --list ] || exit 1\nfor a in ${applets.slice(0, 4).join(' ')}; do echo "$a"; done\nsleep 0.3\nfor a in ${applets.slice(4).join(' ')}; do echo "$a"; done\n`)
      chmodSync(file, 0o755)
    }
    const check = () => spawnSync('bash', [path.join(repoRoot, 'lab/run.sh'), '--check'], {
      encoding: 'utf8', env: {...process.env, PATH: `${fakeBin}:${process.env.PATH}`},
    })

    it('an applet list with devmem is not reported missing', () => {
      fakeBusybox(['ash', 'cat', 'cpio', 'devmem', 'sh', 'tar', 'xz'])
      const run = check()
      expect(run.stderr).not.toContain('busybox with devmem')
      expect(run.stderr).toMatch(/lab: (all tools present|missing tools)/)
    })

    it('an applet list without devmem is', () => {
      fakeBusybox(['ash', 'cat', 'cpio', 'dd', 'sh', 'tar', 'xz'])
      expect(check().stderr).toContain('busybox with devmem')
    })
  })
})
