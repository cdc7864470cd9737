/** What eval/guest.sh prints on the VM's console, as records. */
export type Boot = 'patched' | 'unpatched';

export interface Sample {
  boot: Boot;
  exp: string;
  cfg: string;
  /** loops, container count, sample index... ('-' when the experiment has none) */
  param: string;
  rep: number;
  value: number;
}

export interface Info {
  boot: Boot;
  key: string;
  text: string;
}

export interface Console {
  samples: Sample[];
  infos: Info[];
  done: boolean;
  /** the guest's uptime at VKEVALDONE (s) */
  uptime?: number;
}

export function parseConsole(boot: Boot, log: string): Console {
  const samples: Sample[] = [];
  const infos: Info[] = [];
  let done = false;
  let uptime: number | undefined;
  for (const raw of log.split(/\r?\n/)) {
    // the serial console can glue a kernel message in front of a line: start at the marker
    const at = raw.search(/VKEVAL(INFO|DONE)? /);
    if (at < 0) continue;
    const line = raw.slice(at).trim();
    const f = line.split(/\s+/);
    if (f[0] === 'VKEVAL' && f.length === 6) {
      const value = f[5] === 'nan' ? Number.NaN : Number(f[5]);
      samples.push({ boot, exp: f[1], cfg: f[2], param: f[3], rep: Number(f[4]), value });
    } else if (f[0] === 'VKEVALINFO' && f.length >= 2) {
      infos.push({ boot, key: f[1], text: f.slice(2).join(' ') });
    } else if (f[0] === 'VKEVALDONE') {
      done = true;
      const m = /uptime=([\d.]+)/.exec(line);
      if (m) uptime = Number(m[1]);
    }
  }
  return { samples, infos, done, uptime };
}
