// Increments a counter in a container's state N times under the per-container lock (built code).
import { StateStore } from '../../dist/src/store/state.js';
import { withLock } from '../../dist/src/store/lock.js';

const [root, n] = process.argv.slice(2);
const store = new StateStore(root);
for (let i = 0; i < Number(n); i++) {
  await withLock(root, 'c', async () => {
    const s = store.read('c');
    await new Promise((r) => setTimeout(r, 1));
    s.helpers.n += 1;
    store.write(s);
  });
}
