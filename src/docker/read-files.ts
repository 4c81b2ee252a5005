import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { withThrowawayContainer } from './export.js';

/**
 * The regular files directly under `dir` in an image, by name: the engine's
 * archive API hands over a tar of that one directory, not an export of the
 * whole file system.
 */
export function readImageFiles(docker: Docker, image: string, dir: string): Promise<Map<string, Buffer>> {
  return withThrowawayContainer(docker, image, 'read-files', async (container) => {
    const archive = await container.getArchive({ path: dir });
    const files = new Map<string, Buffer>();
    const parser = extract();
    parser.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        // Members are named <basename of dir>/<file>; only the directory's own files count.
        const parts = header.name.replace(/\/+$/, '').split('/');
        if (header.type === 'file' && parts.length === 2) files.set(parts[1]!, Buffer.concat(chunks));
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      parser.on('finish', resolve);
      parser.on('error', reject);
      archive.on('error', reject);
      archive.pipe(parser);
    });
    return files;
  });
}
