/** Entry point: `tsx test/fake-provider/main.ts --port 9999` (see cli.ts for the flags). */
import { fakeProviderCli } from './cli.ts';

await fakeProviderCli(process.argv.slice(2));
