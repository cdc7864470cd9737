/** A merged, validated policy. Absent keys take the defaults of `effective()`. */
export interface Policy {
  'sched.policy'?: 'cfs' | 'fifo' | 'adaptive';
  'sched.wakeup_granularity_ns'?: number;
  'sched.adaptive.interval_ms'?: number;
  'sched.adaptive.cpu_high'?: number;
  'sched.adaptive.cpu_low'?: number;
  'sched.adaptive.ctx_high'?: number;
  'sched.adaptive.ctx_low'?: number;
  'mm.overcommit_memory'?: '0' | '1' | '2';
  'mm.overcommit_ratio'?: number;
  'mm.thp'?: 'always' | 'madvise' | 'never';
  /** private: the container's readers of the kernel log see only what its own tasks wrote to /dev/kmsg (default shared: the whole log) */
  log?: 'shared' | 'private';
  /** the container itself may change its per-namespace values later (default: only the runtime, at create) */
  'sysctl.writable'?: boolean;
  module?: boolean;
  'syscall.deny'?: string;
  'syscall.namespaces'?: string;
  'syscall.personality'?: string;
  'caps.max'?: string;
  'fs.rules'?: string;
  backend?: 'auto' | 'kernel' | 'rt' | 'scx';
  strict?: boolean;
}

export type PolicyKey = keyof Policy;

/** where each value came from, for messages and `ps` */
export type Sources = Partial<Record<PolicyKey, string>>;

export interface Resolved {
  policy: Policy;
  sources: Sources;
  /** requests the operator's `sources:` switched off, one line each (shown as warnings) */
  ignored?: string[];
}
