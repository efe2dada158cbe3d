"""Run by torchrun (or accelerate launch) in tests/test_component_stats.py:
`component_stats` of the shipped toy model over a corpus file, in each of the processes;
the first saves the merged result.

    torchrun --standalone --nproc_per_node 2 tests/component_stats_worker.py corpus.txt out.npz
"""

import sys

import torch.distributed as dist

from mpl_residual import hf


def main(corpus: str, out: str) -> None:
    model, tokenizer = hf.sample_model()
    with open(corpus) as lines:
        texts = (line.rstrip("\n") for line in lines)
        stats = hf.component_stats(
            model, tokenizer, texts, heads=True, batch_size=3, progress=False
        )
    assert dist.is_initialized() and dist.get_world_size() == 2
    if dist.get_rank() == 0:
        stats.save(out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
