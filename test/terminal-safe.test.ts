import {describe, expect, it} from 'vitest'
import {terminalSafe} from '../src/report/terminal-safe.js'

describe('terminalSafe', () => {
  it('keeps text, newlines, tabs and the tool’s own colours', () => {
    const own = '\x1b[31m✘ FAIL\x1b[0m\tgroup 2\n'
    expect(terminalSafe(own)).toBe(own)
  })

  it('neutralises what a hostile snapshot could send: clear screen, cursor moves, window title, 8-bit CSI, bell', () => {
    const hostile = 'e1000e\x1b[2J\x1b[H\x1b]0;owned\x07\x9b31m\r\x00'
    const safe = terminalSafe(hostile)
    // no control character is left at all (the input's `ESC [2J` is not a colour, so its ESC goes too)
    expect(safe).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/)
    expect(safe.startsWith('e1000e')).toBe(true)
    expect(safe).toContain('\ufffd')
    expect(safe).not.toContain('\x1b]')
    expect(safe).not.toContain('\x07')
    expect(safe).not.toContain('\x9b')
  })
})
