import type { Command } from 'commander';
import { checkKeyPairAbsent, keyPairPaths, writeKeyPair } from '../publish/cosign/key-file.js';
import { readPassphrase } from '../publish/cosign/passphrase.js';

export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('create a cosign-compatible signing key pair: <prefix>.key (encrypted with a passphrase) and <prefix>.pub')
    .option('--output-prefix <prefix>', 'path of the two files, without .key/.pub', 'cosign')
    .option('--force', 'replace an existing key pair')
    .addHelpText('after', '\nThe passphrase is read from COSIGN_PASSWORD when it is set (as cosign does), else asked for twice on the terminal.')
    .action(async (flags: { outputPrefix: string; force?: boolean }) => {
      const { privateKeyPath } = keyPairPaths(flags.outputPrefix);
      // Refuse before asking for a passphrase that would then be thrown away.
      await checkKeyPairAbsent(flags.outputPrefix, { force: flags.force });
      const passphrase = await readPassphrase({ confirm: true, keyPath: privateKeyPath });
      const paths = await writeKeyPair(flags.outputPrefix, passphrase, { force: flags.force });
      process.stdout.write(
        `private key: ${paths.privateKeyPath}\npublic key:  ${paths.publicKeyPath}\n` +
          `keep ${paths.privateKeyPath} secret and never commit it; publish ${paths.publicKeyPath} for verifiers.\n`,
      );
    });
}
