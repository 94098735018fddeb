/**
 * streamhouse_sasl_authentications_total{mechanism, result}: logins by SASL mechanism, success or
 * failure (a rising failure count is someone guessing passwords, or a client with stale credentials).
 */
import { Counter, type Registry } from 'prom-client';
import type { AuthObserver } from './sasl-session.js';

export function authMetrics(registry: Registry): AuthObserver {
  const counter = new Counter({
    name: 'streamhouse_sasl_authentications_total',
    help: 'SASL authentications, by mechanism and result (success or failure)',
    labelNames: ['mechanism', 'result'],
    registers: [registry],
  });
  return {
    onAuthentication(mechanism, ok) {
      counter.inc({ mechanism, result: ok ? 'success' : 'failure' });
    },
  };
}
