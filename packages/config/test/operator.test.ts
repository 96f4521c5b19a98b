import { describe, expect, it } from 'vitest';
import { isOperator } from '../src/index.ts';

const operator = { username: 'ops', password: 'operator-password-1' };
const basic = (login: string) => `Basic ${Buffer.from(login).toString('base64')}`;

describe('isOperator', () => {
  it("accepts basic auth with exactly the operator's username and password", () => {
    expect(isOperator(basic('ops:operator-password-1'), operator)).toBe(true);
    // The scheme is case-insensitive and surrounding space is ignored.
    expect(
      isOperator(`  basic ${Buffer.from('ops:operator-password-1').toString('base64')} `, operator),
    ).toBe(true);
  });

  it('accepts a password that itself contains a colon', () => {
    expect(isOperator(basic('ops:a:b:c:d:e:f:g'), { username: 'ops', password: 'a:b:c:d:e:f:g' })).toBe(true);
  });

  it('refuses a wrong username or password, a prefix of either, or no colon', () => {
    for (const login of [
      'ops:wrong-password',
      'other:operator-password-1',
      'op:operator-password-1',
      'ops:operator-password-',
      'ops:operator-password-12',
      'opsoperator-password-1',
      ':',
    ]) {
      expect(isOperator(basic(login), operator), login).toBe(false);
    }
  });

  it('refuses anything that is not basic auth', () => {
    for (const header of [
      undefined,
      '',
      ['Basic x'],
      'Bearer operator-password-1',
      'Basic',
      'Basic not*base64',
      `Basic ${'A'.repeat(1001)}`,
    ]) {
      expect(isOperator(header, operator), String(header)).toBe(false);
    }
  });
});
