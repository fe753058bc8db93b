"""The command line: ``lsreport run|train|encode|generate|sweep|info|render|prerender``.

Every command calls the same step functions as the book
(:mod:`lsreport.pipeline`), so the book never re-implements the pipeline.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from . import __version__

__all__ = ["main"]


def _add_profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default=None,
                   help="profile name under profiles/ or a .toml path "
                        "(default: $LSREPORT_PROFILE, else 'default')")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. --set model.latent_dim=64 (TOML value syntax)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _parse_overrides(items: list[str]) -> dict:
    import tomllib

    from .config import ConfigError

    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: use KEY=VALUE, e.g. --set train.epochs=3")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value  # a bare string
    return out


def _config(args):
    from .config import load_config

    return load_config(args.profile, _parse_overrides(args.overrides))


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def cmd_step(args) -> int:
    from . import pipeline

    cfg = _config(args)
    upto = {"train": "model", "encode": "latents", "generate": "generation",
            "sweep": "sweep"}.get(args.command, getattr(args, "upto", "latents"))
    print(f"lsreport {__version__}: profile {cfg.profile!r}, data {cfg.resolved_data_source()!r},"
          f" running up to {upto!r}", flush=True)
    t0 = time.perf_counter()
    if getattr(args, "ray", None) is not None:  # sweep --ray: the steps before it here, then the cluster
        pipeline.run(cfg, upto=pipeline.STEPS[pipeline.STEPS.index("sweep") - 1], progress=not args.quiet)
        pipeline.sweep(cfg, progress=not args.quiet, ray_address=args.ray)
    else:
        pipeline.run(cfg, upto=upto, progress=not args.quiet)
    print(f"done in {time.perf_counter() - t0:.1f} s; artifacts in {pipeline.store_for(cfg).root}")
    return 0


def cmd_info(args) -> int:
    from . import pipeline

    cfg = _config(args)
    store = pipeline.store_for(cfg)
    print(f"profile {cfg.profile!r}: {cfg.description}")
    print(f"data source: {cfg.resolved_data_source()}; cache: {store.root}")
    keys = _step_keys(cfg, store)
    for step, key in keys.items():
        state = "missing"
        if key is not None and store.exists(step, key):
            size = sum(f.stat().st_size for f in store.path(step, key).rglob("*") if f.is_file())
            state = f"cached ({_human(size)})"
        print(f"  {step:<11} {key or '(needs upstream)':<18} {state}")
    entries = store.entries()
    if entries:
        print(f"all artifacts in the cache ({len(entries)}):")
        for e in entries:
            flag = "" if e["valid"] else "  CORRUPT"
            print(f"  {e['step']:<11} {e['key']:<18} {_human(e['bytes']):>8}{flag}")
    return 0


def _step_keys(cfg, store) -> dict:
    """The artifact key each step would use now (None when an upstream is missing)."""
    keys: dict = {}
    try:
        from .data import faces_key

        keys["faces"] = faces_key(cfg)
    except (ImportError, FileNotFoundError):
        keys["faces"] = None
    for step, fn_name, mod in (("model", "model_key", "train"),
                               ("latents", "latents_key", "latent"),
                               ("generation", "generation_key", "generate")):
        try:
            module = __import__(f"lsreport.{mod}", fromlist=[fn_name])
            keys[step] = getattr(module, fn_name)(cfg)
        except (ImportError, AttributeError, FileNotFoundError):
            keys[step] = None
    return keys


def cmd_render(args) -> int:
    from .render import QuartoNotFoundError, render_book

    try:
        render_book(args.profile, to=args.to, output_dir=args.output_dir,
                    install_quarto=args.install_quarto)
    except QuartoNotFoundError as exc:
        print(f"lsreport: error: {exc}", file=sys.stderr)
        return 3
    except RuntimeError as exc:
        print(f"lsreport: error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_prerender(args) -> int:
    from .render import prerender

    prerender(args.profile)
    return 0


def cmd_figure(args) -> int:
    from . import figure

    if args.profile:
        os.environ["LSREPORT_PROFILE"] = args.profile
    if args.overrides:
        raise SystemExit("lsreport figure: --set is not supported (the figure must match the book)")
    try:
        if args.all:
            written = figure.export_all(args.outdir, profile=args.profile)
            print(f"{sum(map(len, written.values()))} files of {len(written)} figures in {args.outdir}")
            return 0
        if not args.label:
            labels = ", ".join(f.label for f in figure.book_figures())
            print(f"lsreport figure: error: give a label or --all; valid labels: {labels}",
                  file=sys.stderr)
            return 2
        for path in figure.export(args.label, fmt=args.format, out=args.output,
                                  profile=args.profile):
            print(path)
    except (figure.UnknownFigureError, figure.SourceImageWithheld) as exc:
        print(f"lsreport figure: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _chapter_paths(items):
    """``["05", "09-explorer"]`` -> the matching ``chapters/*.qmd`` paths (None: all)."""
    if not items:
        return None
    from .analyse import EXPLORER_CHAPTER, GENERATION_CHAPTERS, STATS_CHAPTERS

    known = (*STATS_CHAPTERS, *GENERATION_CHAPTERS, EXPLORER_CHAPTER)
    out = []
    for item in items:
        hits = [c for c in known if c.split("/")[-1].startswith(item)]
        if not hits:
            raise FileNotFoundError(f"--chapters {item!r} matches none of " + ", ".join(known))
        out.extend(hits)
    return out


def cmd_analyse(args) -> int:
    from .analyse import analyse_file
    from .data.latents import LatentFileError

    try:
        analyse_file(args.file, decoder=args.decoder, encoder=args.encoder, out=args.out,
                     profile=args.profile or "default", render=not args.no_render,
                     chapters=_chapter_paths(args.chapters))
    except (LatentFileError, FileExistsError) as exc:
        print(f"lsreport analyse: error: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lsreport",
        description="The latent space of a plain convolutional autoencoder on faces.")
    parser.add_argument("--version", action="version", version=f"lsreport {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the pipeline up to a step (default: latents)")
    _add_profile(p)
    p.add_argument("--upto", default="latents",
                   choices=["faces", "model", "latents", "analysis", "generation", "sweep"])
    p.set_defaults(func=cmd_step)
    for name, text in (("train", "train (or resume) the autoencoder"),
                       ("encode", "encode every image into z-vectors"),
                       ("generate", "sample z-vectors, decode and measure faces"),
                       ("sweep", "the controlled experiments")):
        p = sub.add_parser(name, help=text)
        _add_profile(p)
        if name == "sweep":
            p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS",
                           help="run the variants as Ray tasks (default address 'auto'; 'local' "
                                "starts a cluster for this run); needs pip install -e '.[cluster]'")
        p.set_defaults(func=cmd_step)
    p = sub.add_parser("info", help="which artifacts exist for the profile")
    _add_profile(p)
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("render", help="render the book with Quarto (HTML, and PDF with TeX)")
    _add_profile(p)
    p.add_argument("--to", default="auto", choices=["auto", "html", "pdf", "all"],
                   help="auto: HTML and PDF, HTML only (with a note) when no TeX is found; "
                        "all/pdf insist on the PDF")
    p.add_argument("--output-dir", default=None, help="default: _book")
    p.add_argument("--install-quarto", action="store_true",
                   help="pip install quarto-cli into this Python when quarto is missing")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("prerender", help="Quarto's pre-render step: run the pipeline, "
                                         "clear _freeze/ when profile or data changed")
    _add_profile(p)
    p.set_defaults(func=cmd_prerender)
    p = sub.add_parser("figure", help="redraw one labelled figure of the book from the cached "
                                      "results (its chapter's own cell), or all with --all")
    _add_profile(p)
    p.add_argument("label", nargs="?", help="the figure's label, e.g. fig-data-split")
    p.add_argument("--format", default="png", choices=["png", "pdf", "svg"])
    p.add_argument("-o", "--output", default=None, help="file to write (default LABEL.FORMAT)")
    p.add_argument("--all", action="store_true",
                   help="every figure, as PNG and PDF, into --outdir (the book's downloads)")
    p.add_argument("--outdir", default="_book/figures",
                   help="folder for --all (default _book/figures, where the book links them)")
    p.set_defaults(func=cmd_figure)
    p = sub.add_parser("analyse", help="analyse your own latent vectors (.npy/.npz, N x D) and "
                                       "render the statistics chapters for them")
    p.add_argument("file", help=".npy array, or .npz with z (and optional ids, split, labels)")
    p.add_argument("--decoder", default=None, help="decoder.keras taking D-vectors to RGB images "
                                                   "(adds the generation chapters)")
    p.add_argument("--encoder", default=None, help="encoder.keras (optional, with --decoder)")
    p.add_argument("--out", default=None, help="output folder (default FILE-analysis beside it)")
    p.add_argument("--profile", default=None, help="profile for the statistics settings "
                                                   "(default 'default')")
    p.add_argument("--no-render", action="store_true",
                   help="only findings.json and the profile, no book (no Quarto needed)")
    p.add_argument("--chapters", nargs="+", default=None, metavar="NN",
                   help="render only these chapters (e.g. 05 09), beside the first page")
    p.set_defaults(func=cmd_analyse)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lsreport`` command."""
    from .config import ConfigError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"lsreport: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lsreport: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
