import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { GridmeshError, ErrorCodes, exitCodeFor, errorLine } from '../../../src/errors.ts'

test('config errors exit 2, runtime errors exit 1', () => {
  assert.is(exitCodeFor(new GridmeshError(ErrorCodes.CONFIG_INVALID, 'bad')), 2)
  assert.is(exitCodeFor(new GridmeshError(ErrorCodes.USAGE, 'bad')), 2)
  assert.is(exitCodeFor(new GridmeshError(ErrorCodes.DRIVER_FAILED, 'bad')), 1)
  assert.is(exitCodeFor(new Error('x')), 1)
})

test('error line is one line prefixed with the program name', () => {
  assert.is(errorLine(new GridmeshError(ErrorCodes.USAGE, 'unknown flag --x')), 'gridmesh: unknown flag --x')
})

test.run()
