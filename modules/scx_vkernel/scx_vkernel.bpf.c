/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_vkernel: the sched_ext scheduler of vkernel-runtime's scx backend
 * (issue 16 §2; ARCHITECTURE.md "Backends").
 *
 * Partial mode (SCX_OPS_SWITCH_PARTIAL): only tasks whose policy is
 * SCHED_EXT are scheduled here; every other task stays in the fair class.
 * The runtime switches a container's init to SCHED_EXT (its children inherit
 * it) and records the container's cpu cgroup in the pinned map `policies`
 * (cgroup id -> policy) through the loader (scx_vkernel.c).
 *
 *   VK_FIFO   the group's tasks run in arrival order: one FIFO queue per
 *             group (a DSQ from a pool of VK_FIFO_SLOTS, the slot is chosen
 *             by the loader); a task whose slice ends or that is preempted
 *             while runnable goes back to the HEAD of its group's queue, so
 *             no later task of the group overtakes it (what patched
 *             cpu.real_policy=1 does inside a cfs_rq).
 *   VK_VTIME  (and any SCHED_EXT task whose group is not in the map) weighted
 *             virtual time in one shared queue, like the fair class.
 *
 * Between queues (the vtime queue and each fifo group's queue) every CPU
 * takes turns, one slice each, so a fifo group cannot starve the others.
 * SCHED_EXT runs below the fair class: a CPU busy with fair tasks runs no
 * SCHED_EXT task (6.12).  If this scheduler exits or is unloaded, the kernel
 * puts every SCHED_EXT task back in the fair class.
 */
#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

/*
 * 6.13 renamed the DSQ kfuncs (scx_bpf_dispatch -> scx_bpf_dsq_insert,
 * scx_bpf_consume -> scx_bpf_dsq_move_to_local) and later kernels dropped the
 * old names; build.sh defines VK_DSQ_INSERT when the kernel's BTF has the new
 * ones (their prototypes come with vmlinux.h).
 */
#ifdef VK_DSQ_INSERT
#define vk_insert(p, dsq, slice, flags) scx_bpf_dsq_insert(p, dsq, slice, flags)
#define vk_insert_vtime(p, dsq, slice, vtime, flags) scx_bpf_dsq_insert_vtime(p, dsq, slice, vtime, flags)
#define vk_move_to_local(dsq) scx_bpf_dsq_move_to_local(dsq)
#else
#define vk_insert(p, dsq, slice, flags) scx_bpf_dispatch(p, dsq, slice, flags)
#define vk_insert_vtime(p, dsq, slice, vtime, flags) scx_bpf_dispatch_vtime(p, dsq, slice, vtime, flags)
#define vk_move_to_local(dsq) scx_bpf_consume(dsq)
#endif

#define VK_VTIME 0
#define VK_FIFO 1
#define VK_FIFO_SLOTS 64
#define VTIME_DSQ 0
#define FIFO_DSQ(slot) (1ULL + (slot))
#define NR_QUEUES (VK_FIFO_SLOTS + 1)

struct vk_policy {
	u32 policy;
	u32 slot;
};

/* cgroup id (kernfs id, the st_ino of the group's directory) -> policy */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, struct vk_policy);
} policies SEC(".maps");

/* counters for people and tests: [0] fifo enqueues, [1] head requeues, [2] vtime enqueues */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, u32);
	__type(value, u64);
} stats SEC(".maps");

/* where each CPU's next turn starts */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} cursor SEC(".maps");

struct task_ctx {
	/* stopped while still runnable (slice used up, preempted): back at the head */
	bool requeue_head;
	/* the fifo queue (slot + 1) it was last queued on; 0: vtime */
	u32 fifo_queue;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

static u64 vtime_now;
UEI_DEFINE(uei);

static void count(u32 i)
{
	u64 *n = bpf_map_lookup_elem(&stats, &i);

	if (n)
		(*n)++;
}

/* the policy of @p's cpu cgroup, NULL when its group is not in the map */
static struct vk_policy *policy_of(struct task_struct *p)
{
	struct cgroup *cg = scx_bpf_task_cgroup(p);
	struct vk_policy *pol;
	u64 id;

	if (!cg)
		return NULL;
	id = cg->kn->id;
	bpf_cgroup_release(cg);
	pol = bpf_map_lookup_elem(&policies, &id);
	if (pol && pol->policy == VK_FIFO && pol->slot < VK_FIFO_SLOTS)
		return pol;
	return NULL;
}

static bool before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

s32 BPF_STRUCT_OPS(vk_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool idle = false;
	s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &idle);

	/* a fifo task always goes through its group's queue: arrival order */
	if (idle && !policy_of(p))
		vk_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
	return cpu;
}

void BPF_STRUCT_OPS(vk_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct vk_policy *pol = policy_of(p);
	struct task_ctx *tc;
	u64 vtime;

	if (pol) {
		u32 slot = pol->slot;

		tc = bpf_task_storage_get(&task_ctxs, p, 0, 0);
		if (tc) {
			tc->fifo_queue = slot + 1;
			if (tc->requeue_head) {
				tc->requeue_head = false;
				enq_flags |= SCX_ENQ_HEAD;
				count(1);
			}
		}
		count(0);
		if (slot < VK_FIFO_SLOTS)
			vk_insert(p, FIFO_DSQ(slot), SCX_SLICE_DFL, enq_flags);
		return;
	}
	count(2);
	tc = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	if (tc)
		tc->fifo_queue = 0;
	vtime = p->scx.dsq_vtime;
	/* a task that slept keeps at most one slice of credit */
	if (before(vtime, vtime_now - SCX_SLICE_DFL))
		vtime = vtime_now - SCX_SLICE_DFL;
	vk_insert_vtime(p, VTIME_DSQ, SCX_SLICE_DFL, vtime, enq_flags);
}

/*
 * The CPU needs a task.  @prev, when not NULL, ran until now and may still be
 * runnable (its slice ran out): it is not back on its queue yet (that happens
 * after this).  A runnable fifo @prev must not be overtaken by a later task of
 * its own group, so its group's queue is skipped: another queue's task runs
 * (and @prev goes back to the head of its queue), or nothing is taken and the
 * kernel keeps running @prev with a new slice.
 */
void BPF_STRUCT_OPS(vk_dispatch, s32 cpu, struct task_struct *prev)
{
	u32 zero = 0, start, q, i, skip = NR_QUEUES;
	u32 *cur = bpf_map_lookup_elem(&cursor, &zero);
	struct task_ctx *tc;

	if (!cur)
		return;
	if (prev && (prev->scx.flags & SCX_TASK_QUEUED)) {
		tc = bpf_task_storage_get(&task_ctxs, prev, 0, 0);
		if (tc && tc->fifo_queue)
			skip = tc->fifo_queue - 1;
	}
	start = *cur;
	bpf_for(i, 0, NR_QUEUES) {
		q = (start + i) % NR_QUEUES;
		if (q == skip)
			continue;
		if (vk_move_to_local(q == VK_FIFO_SLOTS ? VTIME_DSQ : FIFO_DSQ(q))) {
			*cur = q + 1;
			return;
		}
	}
}

void BPF_STRUCT_OPS(vk_running, struct task_struct *p)
{
	if (before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
}

void BPF_STRUCT_OPS(vk_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tc = bpf_task_storage_get(&task_ctxs, p, 0, 0);

	if (tc)
		tc->requeue_head = runnable;
	/* charge the time used, inversely to the weight (the vtime queue's order) */
	p->scx.dsq_vtime += (SCX_SLICE_DFL - p->scx.slice) * 100 / p->scx.weight;
}

void BPF_STRUCT_OPS(vk_enable, struct task_struct *p)
{
	p->scx.dsq_vtime = vtime_now;
}

s32 BPF_STRUCT_OPS(vk_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	if (!bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		return -ENOMEM;
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(vk_init)
{
	s32 ret;
	u32 i;

	ret = scx_bpf_create_dsq(VTIME_DSQ, -1);
	if (ret)
		return ret;
	bpf_for(i, 0, VK_FIFO_SLOTS) {
		ret = scx_bpf_create_dsq(FIFO_DSQ(i), -1);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * UEI_RECORD copies the exit's reason and message with
 * bpf_probe_read_kernel_str(), which a kernel without CONFIG_BPF_EVENTS does
 * not offer (the verifier refuses the program: "program of this type cannot
 * use helper"); build.sh defines VK_EXIT_MSG when the kernel has it.  Without
 * it, the kind and the exit code (plain fields) are recorded, the kind last,
 * as UEI_RECORD does (the loader polls it).
 */
void BPF_STRUCT_OPS(vk_exit, struct scx_exit_info *ei)
{
#ifdef VK_EXIT_MSG
	UEI_RECORD(uei, ei);
#else
	if (bpf_core_field_exists(ei->exit_code))
		uei.exit_code = ei->exit_code;
	__sync_val_compare_and_swap(&uei.kind, uei.kind, ei->kind);
#endif
}

SCX_OPS_DEFINE(vkernel_ops,
	       .select_cpu = (void *)vk_select_cpu,
	       .enqueue = (void *)vk_enqueue,
	       .dispatch = (void *)vk_dispatch,
	       .running = (void *)vk_running,
	       .stopping = (void *)vk_stopping,
	       .enable = (void *)vk_enable,
	       .init_task = (void *)vk_init_task,
	       .init = (void *)vk_init,
	       .exit = (void *)vk_exit,
	       .flags = SCX_OPS_SWITCH_PARTIAL,
	       .name = "vkernel");
