// The viewer's choices on the thread page (speed, captions, skipping silences, data saver,
// the transcript panel), remembered per account in localStorage, so that what someone asked
// for once holds on every thread.

export function makePrefs(userId) {
  const key = (name) => `relay.thread.${userId || "anon"}.${name}`;
  return {
    get(name, fallback) {
      try {
        const value = localStorage.getItem(key(name));
        return value === null ? fallback : JSON.parse(value);
      } catch {
        return fallback; // private mode or storage disabled
      }
    },
    set(name, value) {
      try {
        localStorage.setItem(key(name), JSON.stringify(value));
      } catch {
        /* not remembered, still applied */
      }
    },
  };
}
