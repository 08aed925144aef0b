import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // adapter-node's variables (ORIGIN, PROTOCOL_HEADER, HOST_HEADER, PORT, HOST, ...) are read with
    // this prefix, so a console served by the gateway never picks up the gateway's own HOST/PORT.
    adapter: adapter({ out: 'build', envPrefix: 'WATCHLLM_CONSOLE_' }),
    // The same URLs whether the gateway serves it or it runs on its own.
    paths: { base: '/console', relative: false },
    csp: {
      mode: 'auto',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:'],
        'connect-src': ['self'],
        'form-action': ['self'],
        'frame-ancestors': ['none'],
        'base-uri': ['self'],
        'object-src': ['none'],
      },
    },
    typescript: {
      config(config) {
        // the console's server modules import with .ts extensions, like the rest of the repository
        config.compilerOptions.allowImportingTsExtensions = true;
        return config;
      },
    },
  },
};
