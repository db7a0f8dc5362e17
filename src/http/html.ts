// Every value that came from a user (speaker and host names, notes) or from metadata goes through this.
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
