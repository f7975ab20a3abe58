/**
 * The container image, as far as it can be tested without a Docker engine (CI builds and runs it
 * where one exists: scripts/check-packages.sh): the Dockerfile's instructions and what it copies,
 * and its entrypoint run for real against a committed snapshot standing in for the host's /sys
 * and /proc mounts.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const INSTRUCTIONS = new Set(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'ENTRYPOINT', 'CMD', 'ARG', 'LABEL', 'USER'])
const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')
/** Instructions with continuation lines joined, comments dropped. */
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))

describe('Dockerfile', () => {
  it('uses only known instructions, on Debian slim images with Node 20', () => {
    for (const line of instructions) expect(INSTRUCTIONS, line).toContain(line.split(/\s+/)[0])
    const bases = instructions.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1])
    expect(bases.length).toBeGreaterThan(0)
    for (const base of bases) expect(base).toMatch(/^node:20-bookworm-slim$/)
  })

  it('copies only files that exist, and runs the entrypoint it installs', () => {
    const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
    for (const copy of copies) {
      const sources = copy.split(/\s+/).slice(1, -1)
      for (const source of sources) if (source !== '.') expect(existsSync(path.join(repoRoot, source)), source).toBe(true)
    }
    const entry = JSON.parse(instructions.find((l) => l.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[]
    const installed = copies.find((c) => c.endsWith(` ${entry[0]}`))
    expect(installed, `a COPY that installs ${entry[0]}`).toBeDefined()
    const script = path.join(repoRoot, installed!.split(/\s+/)[1]!)
    expect(statSync(script).mode & 0o111).not.toBe(0)
    expect(spawnSync('sh', ['-n', script]).status).toBe(0)
  })

  it('keeps node_modules and build output out of the build context', () => {
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n')
    for (const dir of ['node_modules', 'dist', 'build']) expect(ignored).toContain(dir)
  })
})

describe('the container entrypoint', () => {
  const script = path.join(repoRoot, 'packaging/container-check.sh')

  /** Runs the entrypoint on a host directory holding /sys and /proc as the mounts would. */
  function runEntrypoint(host: string, args: string[]) {
    const bin = scratchDir('vtd-container-bin-')
    // `vtd-check` on PATH is this checkout's build, as the image's is its npm install.
    writeFileSync(path.join(bin, 'vtd-check'), `#!/bin/sh\nexec node ${JSON.stringify(path.join(repoRoot, 'bin/run.js'))} "$@"\n`)
    chmodSync(path.join(bin, 'vtd-check'), 0o755)
    try {
      return spawnSync('sh', [script, ...args], {encoding: 'utf8', env: {...process.env, PATH: `${bin}:${process.env.PATH}`, VTD_CHECK_HOST: host}})
    } finally {
      rmSync(bin, {recursive: true, force: true})
    }
  }

  it('checks the mounted host as a snapshot, with this machine\'s kernel log beside it, and says where the log came from', () => {
    // The host's /sys and /proc: a committed lab snapshot's, copied (symlinks kept) without its log.
    const host = scratchDir('vtd-container-host-')
    const snapshot = path.join(repoRoot, 'sysfs-fixtures/lab-pch-acs-less-root-ports')
    execFileSync('cp', ['-a', path.join(snapshot, 'sys'), path.join(snapshot, 'proc'), host])
    const run = runEntrypoint(host, ['check', '--json'])
    rmSync(host, {recursive: true, force: true})
    expect([0, 1, 3]).toContain(run.status)
    const report = JSON.parse(run.stdout)
    expect(report.host.kernel).toBe('6.1.0-56-amd64')
    expect(report.host.iommu).toBe('intel')
    // This machine's own log (dmesg) when readable, else the entrypoint says how to provide one.
    expect(report.host.root).toBe(host)
    if (report.host.logReadable) expect(report.host.logSource).toMatch(/dmesg\.txt$/)
    else expect(run.stderr).toMatch(/no kernel log \(run with --device \/dev\/kmsg/)
  })

  it('refuses, with the mount it needs, when the host /sys is not mounted', () => {
    const empty = scratchDir('vtd-nohost-')
    const run = runEntrypoint(empty, [])
    rmSync(empty, {recursive: true})
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(/mount the host's \/sys at .*\/sys/)
  })
})
