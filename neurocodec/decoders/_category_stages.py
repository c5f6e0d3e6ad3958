"""``decode_categories``: nested cross-validated category decoding of a ``stimulus_responses`` kind.

Cheap to import: scikit-learn loads inside ``run`` (the algorithm lives in :mod:`._category`).
"""

from __future__ import annotations

from pydantic import Field

from ..pipeline import Input, Output, Stage, StageParams, bad_value, register_stage


class DecodeCategoriesParams(StageParams):
    subjects: list[str] = Field(default_factory=list, description="Subjects decoded (all when empty).")
    categories: list[str] = Field(
        default_factory=list, description="Categories kept, e.g. [face, house] (all known ones when empty)."
    )
    C: list[float] = Field(
        [0.01, 0.1, 1.0, 10.0],
        min_length=1,
        description="Candidate C of the linear SVM, chosen per outer fold by an inner cross-validation on the "
        "training runs only.",
    )
    n_folds: int = Field(
        5,
        ge=2,
        description="Without runs in the trials (simulations, user experiments): outer and inner folds of whole "
        "images. With runs, both loops leave one run out.",
    )


@register_stage
class DecodeCategories(Stage):
    """Category decoding: nested leave-one-run-out CV of a standardised linear SVM (inner C search) and shrinkage LDA.

    Every trial (training and test split together) of each subject is a sample; the outer loop holds out one run
    at a time (folds of whole images when the trials carry no run), the SVM's C is chosen on the training runs
    only. Writes per-fold accuracy, the pooled accuracy, the confusion matrix and the chance level.
    """

    name = "decode_categories"
    version = 1
    Params = DecodeCategoriesParams
    libraries = ("numpy", "scikit-learn")
    inputs = {"experiment": Input("Single-trial responses with category labels.", kinds=("stimulus_responses",))}
    outputs = {
        "scores": Output(
            "scores.json",
            "Per subject and classifier (svm, lda): accuracy (pooled), fold_accuracy, held_out, fold_C, chance, "
            "classes, confusion, n_samples, group_by.",
        ),
        "folds": Output("folds.tsv", "subject, classifier, fold, held_out, n_test, accuracy, C."),
        "predictions": Output("predictions.tsv", "subject, sample, group, true, svm, lda (out-of-fold)."),
    }

    def run(self, params, inputs, out_dir):
        import pandas as pd

        from ..datasets.kinds import StimulusResponses
        from ..pipeline import save_json, save_table
        from ._category import CategoryDecoder, cross_validate_categories, decoding_samples

        exp = StimulusResponses.load(inputs["experiment"])
        subjects = list(params.subjects) or list(exp.subjects)
        if not subjects:
            raise bad_value("experiment", "stimulus_responses with at least one subject's responses", "<no subjects>")
        scores, folds, preds = {}, [], []
        for sub in subjects:
            X, y, groups, group_by, names = decoding_samples(exp, sub, list(params.categories))
            n_folds = None if group_by == "run" else params.n_folds
            row = {"subject": sub, "sample": range(len(y)), "group": [names[g] for g in groups], "true": y}
            scores[sub] = {}
            for clf in ("svm", "lda"):
                decoder = CategoryDecoder(clf, C=list(params.C), inner_cv=n_folds)
                res = cross_validate_categories(decoder, X, y, groups, n_folds=n_folds)
                res.held_out = [[names[g] for g in fold] for fold in res.held_out]
                res.info = {"group_by": group_by}
                scores[sub][clf] = res.summary()
                row[clf] = res.predictions
                folds += [
                    {
                        "subject": sub,
                        "classifier": clf,
                        "fold": k,
                        "held_out": ",".join(map(str, res.held_out[k])),
                        "n_test": int((res.fold_of_sample == k).sum()),
                        "accuracy": res.fold_accuracy[k],
                        "C": res.fold_C[k],
                    }
                    for k in range(len(res.fold_accuracy))
                ]
            preds.append(pd.DataFrame(row))
        save_json(out_dir / "scores.json", {"subjects": scores, "info": {"experiment": exp.info}})
        save_table(out_dir / "folds.tsv", pd.DataFrame(folds))
        save_table(out_dir / "predictions.tsv", pd.concat(preds, ignore_index=True))

    @classmethod
    def report(cls, artifact):
        from ..pipeline import load_json
        from ..pipeline.report import Section, Table, Text

        scores = load_json(artifact.file("scores"))["subjects"]
        rows, blocks = [], []
        for sub, by_clf in scores.items():
            for clf, s in by_clf.items():
                folds = ", ".join(f"{a:.2f}" for a in s["fold_accuracy"])
                rows.append(
                    [sub, clf, f"{s['accuracy']:.3f}", f"{s['chance']:.3f}", s["n_samples"], s["n_folds"], folds]
                )
            svm = by_clf["svm"]
            blocks.append(
                Table(
                    ["true \\ predicted", *svm["classes"]],
                    [[c, *r] for c, r in zip(svm["classes"], svm["confusion"])],
                    caption=f"{sub}: confusion matrix of the nested SVM (pooled over the outer folds).",
                )
            )
        text = Text(
            "Nested cross-validated category decoding: outer folds hold out one run (group_by run) or whole images; "
            "the SVM's C is chosen on the training folds only; chance is the most frequent class's share."
        )
        head = ["subject", "classifier", "accuracy", "chance", "samples", "folds", "fold accuracy"]
        return Section("Category decoding", [text, Table(head, rows), *blocks])
