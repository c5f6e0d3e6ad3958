"""Graph features against networkx, thresholding, bad inputs."""

import networkx as nx
import numpy as np
import pytest

from neurocodec.features.connectivity import graph_features, threshold_graph


def _weighted(n=14, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, (n, n)) * (rng.uniform(size=(n, n)) < 0.4)
    w = np.triu(w, 1)
    return w + w.T


def test_binary_features_match_networkx():
    w = _weighted()
    a = (w > 0).astype(float)
    g = nx.from_numpy_array(a)
    f = graph_features(a, weighted=False)
    np.testing.assert_allclose(f["degree"], [d for _, d in g.degree()])
    np.testing.assert_allclose(f["triangles"], [nx.triangles(g)[i] for i in range(len(a))])
    np.testing.assert_allclose(f["clustering"], [nx.clustering(g)[i] for i in range(len(a))])
    np.testing.assert_allclose(f["global_efficiency"], nx.global_efficiency(g))
    np.testing.assert_allclose(f["local_efficiency"].mean(), nx.local_efficiency(g))
    assert f["density"] == pytest.approx(nx.density(g))


def test_weighted_features_match_networkx():
    w = _weighted(seed=1)
    g = nx.from_numpy_array(w)
    f = graph_features(w, weighted=True)
    np.testing.assert_allclose(f["strength"], [g.degree(i, weight="weight") for i in range(len(w))])
    np.testing.assert_allclose(f["clustering"], [nx.clustering(g, weight="weight")[i] for i in range(len(w))])
    for u, v, d in g.edges(data=True):
        d["length"] = 1.0 / d["weight"]
    lengths = dict(nx.all_pairs_dijkstra_path_length(g, weight="length"))
    n = len(w)
    eff = sum(1.0 / lengths[i][j] for i in range(n) for j in lengths[i] if j != i) / (n * (n - 1))
    assert f["global_efficiency"] == pytest.approx(eff)


def test_modularity_finds_blocks():
    block = np.kron(np.eye(3), np.ones((5, 5))) * 0.9 + 0.05
    np.fill_diagonal(block, 1.0)
    f = graph_features(threshold_graph(block, density=0.3))
    assert f["n_modules"] == 3 and f["modularity"] > 0.5


def test_thresholds():
    rng = np.random.default_rng(0)
    c = np.corrcoef(rng.standard_normal((12, 50)))
    adj = threshold_graph(c, density=0.2)
    n_edges = 12 * 11 / 2
    assert np.count_nonzero(np.triu(adj, 1)) == round(0.2 * n_edges)
    kept = np.triu(adj, 1)[np.triu(adj, 1) > 0]
    dropped = np.triu(c, 1)[(np.triu(adj, 1) == 0) & np.triu(np.ones_like(c, bool), 1)]
    assert kept.min() >= dropped.max()
    assert np.all(threshold_graph(c, absolute=0.1)[np.abs(c) <= 0.1] == 0)
    assert set(np.unique(threshold_graph(c, density=0.5, use_abs=True, binarize=True))) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="'density' must be in"):
        threshold_graph(c, density=1.5)
    with pytest.raises(ValueError, match="'conn' must be symmetric"):
        threshold_graph(np.triu(c))
    with pytest.raises(ValueError, match="'adjacency' must be finite and non-negative"):
        graph_features(c)
    with pytest.raises(ValueError, match="'conn' must be finite"):
        threshold_graph(np.full((3, 3), np.nan))
