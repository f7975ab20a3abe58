import {describe, expect, it} from 'vitest'
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {captureScript} from '../src/collect/capture-script.js'
import {openRoot} from '../src/host/snapshot.js'
import {writeSnapshot} from '../src/host/snapshot.js'
import {readKernelLog} from '../src/host/kernel-log.js'
import {fixturesDir} from './support/paths.js'
import {readTree} from './support/tree.js'
import {scratchDir} from './support/scratch.js'

const snapshots = fs.readdirSync(fixturesDir).filter((name) => fs.existsSync(path.join(fixturesDir, name, 'sys')))
const ignoreMeta = (rel: string) => rel === 'meta.json' || rel === 'README.md' || rel === 'expected.json' || !/^(sys|proc|dev|dmesg\.txt)/.test(rel)

function tmp(): string {
  return scratchDir('vtd-capture-')
}

function shells(): string[] {
  const found = ['sh']
  if (spawnSync('busybox', ['true']).status === 0) found.push('busybox sh')
  return found
}

describe('capture', () => {
  it('has snapshots to compare', () => {
    expect(snapshots).toContain('dev-vm-no-iommu')
  })

  for (const name of snapshots) {
    const source = path.join(fixturesDir, name)
    const expected = readTree(source, ignoreMeta)

    it(`node capture of ${name} reproduces it byte for byte, links as links`, async () => {
      const out = tmp()
      const host = openRoot(source)
      const meta = writeSnapshot(host, await readKernelLog(host), out, 'test')
      expect(readTree(out, ignoreMeta)).toEqual(expected)
      expect(meta.unreadable.sort()).toEqual([...(JSON.parse(fs.readFileSync(path.join(source, 'meta.json'), 'utf8')).unreadable as string[])].sort())
    })

    for (const shell of shells()) {
      it(`the sh script under "${shell}" captures ${name} exactly like the node capture`, () => {
        const out = tmp()
        const script = path.join(out, 'capture.sh')
        fs.writeFileSync(script, captureScript('test'))
        const [cmd, ...args] = shell.split(' ')
        execFileSync(cmd!, [...args, script, path.join(out, 'snap')], {env: {...process.env, VTD_CAPTURE_SRC: source}, stdio: 'pipe'})
        expect(readTree(path.join(out, 'snap'), ignoreMeta)).toEqual(expected)
        const meta = JSON.parse(fs.readFileSync(path.join(out, 'snap', 'meta.json'), 'utf8'))
        expect(meta).toMatchObject({tool: 'vtd-check', captureMethod: 'sh'})
      })
    }
  }
})
