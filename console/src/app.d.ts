import type { IncomingMessage } from 'node:http';
import type { ConsoleContext } from '$lib/server/context.ts';

declare global {
  namespace App {
    interface Locals {
      ctx: ConsoleContext;
    }
    interface Platform {
      /** adapter-node's request; the gateway attaches its ClickHouse client to it */
      req?: IncomingMessage;
    }
    interface Error {
      message: string;
    }
  }
}

export {};
