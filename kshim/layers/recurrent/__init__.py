"""Recurrent layers: the generic `RNN` over a cell, and SimpleRNN, LSTM and GRU with their cells."""

from kshim.layers.recurrent.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from kshim.layers.recurrent.gru import GRU, GRUCell
from kshim.layers.recurrent.lstm import LSTM, LSTMCell
from kshim.layers.recurrent.rnn import RNN
from kshim.layers.recurrent.simple_rnn import SimpleRNN, SimpleRNNCell
from kshim.layers.recurrent.stacked_cells import StackedRNNCells

__all__ = ["RNN", "SimpleRNN", "SimpleRNNCell", "LSTM", "LSTMCell", "GRU", "GRUCell", "StackedRNNCells",
           "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
