// The scx backend (issue 16 §2) on a kernel we did not build: Debian forky's stock kernel, which
// has sched_ext built in, with the 6.1 contrast (test/scx/suite.ts). Part of npm test's VM tier: it
// downloads the kernel package and the 6.12 source (for libbpf, bpftool and the sched_ext headers)
// and builds the scheduler's loader, all cached; our own 6.12 build is `npm run test:scx`.
import { scxSuite } from '../scx/suite.js';

scxSuite(['stock']);
