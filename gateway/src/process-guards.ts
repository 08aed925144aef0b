import type { Logger } from './log.ts';

/**
 * A promise rejected with nobody listening (a dependency's stray rejection, as adapter-node's
 * handler let escape for a URL it could not decode) would end the process under Node's default
 * (`--unhandled-rejections=throw`), and every call and stream in flight with it. The gateway logs it
 * and carries on: each call has its own error handling and deadlines, so one lost promise is one
 * call's problem at most. Uncaught exceptions keep Node's behaviour (exit): their state is unknown.
 */
export function guardUnhandledRejections(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection; the gateway carries on');
  });
}
