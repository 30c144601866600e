"""``python -m benchmarks [name ...]`` runs the named benchmarks (default: all)."""
import importlib
import pkgutil
import sys

import torch

import benchmarks


def main(argv: list[str]) -> None:
    modules = pkgutil.iter_modules(benchmarks.__path__)
    available = sorted(m.name[len("bench_"):] for m in modules if m.name.startswith("bench_"))
    chosen = argv or available
    unknown = set(chosen) - set(available)
    if unknown:
        sys.exit(f"Unknown benchmark(s) {sorted(unknown)}; available: {available}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"CUDA {'yes' if torch.cuda.is_available() else 'no'}")
    for name in chosen:
        importlib.import_module(f"benchmarks.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
