/** Media from another image get a name of their own (the image's), so they never overwrite the OS's own media. */
export function mediaName(image: string): string {
  return image.replace(/^.*\//, '').replace(/[^A-Za-z0-9._-]+/g, '-');
}
