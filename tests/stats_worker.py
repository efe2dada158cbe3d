"""Run by torchrun in tests/test_hf_stats.py: `dimension_stats` over a corpus file, in each
of the processes, and the first saves the merged result.

    torchrun --standalone --nproc_per_node 2 tests/stats_worker.py corpus.txt out.npz
"""

import sys

import torch.distributed as dist
import transformers

from hf_models import minilm_path
from mpl_residual import hf


def main(corpus: str, out: str) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_path())
    model = transformers.AutoModel.from_pretrained(minilm_path()).eval()
    with open(corpus) as lines:
        texts = (line.rstrip("\n") for line in lines)
        stats = hf.dimension_stats(model, tokenizer, texts, batch_size=4, progress=False)
    assert dist.is_initialized() and dist.get_world_size() == 2
    if dist.get_rank() == 0:
        stats.save(out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
