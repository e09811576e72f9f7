# Reference values for CurvesTests, from scikit-learn (Debian's python3-sklearn):
#   /usr/bin/python3 tests/NetGen.Runtime.Tests/Fixtures/curves.py
from sklearn.metrics import roc_curve, precision_recall_curve, auc, roc_auc_score, confusion_matrix

scores = [0.9, 0.8, 0.8, 0.7, 0.6, 0.55, 0.55, 0.5, 0.4, 0.3, 0.3, 0.2, 0.1, 0.05]
labels = [1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]
fpr, tpr, th = roc_curve(labels, scores, drop_intermediate=False)
p, r, pt = precision_recall_curve(labels, scores)
print("fpr", list(fpr)); print("tpr", list(tpr)); print("roc_auc", roc_auc_score(labels, scores), auc(fpr, tpr))
print("precision", list(p)); print("recall", list(r)); print("pr_thresholds", list(pt)); print("pr_auc", auc(r, p))
print("confusion@0.5", confusion_matrix(labels, [1 if s >= 0.5 else 0 for s in scores]).tolist())
