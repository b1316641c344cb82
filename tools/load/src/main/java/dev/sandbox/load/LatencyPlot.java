package dev.sandbox.load;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Latency by percentile, one line per operation, as HdrHistogram's plots draw it: the x axis is log-scaled in
 * "nines" (90%, 99%, 99.9%) so the tail gets room; the y axis is log-scaled milliseconds.
 */
public final class LatencyPlot {

    private static final int W = 1000, H = 600, LEFT = 80, RIGHT = 180, TOP = 40, BOTTOM = 60;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2)};
    private static final double MAX_NINES = 3; // up to 99.9%

    private LatencyPlot() {
    }

    public static void write(Path png, Map<Operation, Histogram> histograms, String title) throws IOException {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));

        double minMs = Double.MAX_VALUE, maxMs = 0;
        for (Histogram h : histograms.values()) {
            if (h.getTotalCount() > 0) {
                minMs = Math.min(minMs, Math.max(0.01, h.getMinValue() / 1000.0));
                maxMs = Math.max(maxMs, h.getMaxValue() / 1000.0);
            }
        }
        if (maxMs == 0) {
            minMs = 0.1;
            maxMs = 1;
        }
        double lo = Math.floor(Math.log10(minMs)), hi = Math.max(lo + 1, Math.ceil(Math.log10(maxMs)));

        g.setColor(new Color(0xdddddd));
        for (double d = lo; d <= hi; d++) {
            int y = y(d, lo, hi);
            g.drawLine(LEFT, y, W - RIGHT, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(label(Math.pow(10, d)) + " ms", 8, y + 4);
            g.setColor(new Color(0xdddddd));
        }
        String[] xLabels = {"0%", "90%", "99%", "99.9%"};
        for (int n = 0; n <= MAX_NINES; n++) {
            int x = x(n);
            g.drawLine(x, TOP, x, H - BOTTOM);
            g.setColor(Color.DARK_GRAY);
            g.drawString(xLabels[n], x - 12, H - BOTTOM + 18);
            g.setColor(new Color(0xdddddd));
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, LEFT, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("percentile", (W - RIGHT + LEFT) / 2 - 30, H - 20);

        int i = 0;
        g.setStroke(new BasicStroke(2f));
        for (Map.Entry<Operation, Histogram> e : histograms.entrySet()) {
            Histogram h = e.getValue();
            if (h.getTotalCount() == 0) {
                continue;
            }
            g.setColor(COLORS[i % COLORS.length]);
            int px = -1, py = -1;
            for (HistogramIterationValue v : h.percentiles(5)) {
                double p = Math.min(v.getPercentileLevelIteratedTo(), 99.9);
                double nines = -Math.log10(1 - p / 100.0);
                double ms = Math.max(Math.pow(10, lo), v.getValueIteratedTo() / 1000.0);
                int x = x(nines), y = y(Math.log10(ms), lo, hi);
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            g.fillRect(W - RIGHT + 16, TOP + 10 + 20 * i, 14, 4);
            g.drawString(e.getKey().label() + " (" + h.getTotalCount() + ")", W - RIGHT + 36, TOP + 16 + 20 * i);
            i++;
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static int x(double nines) {
        return LEFT + (int) Math.round(Math.min(nines, MAX_NINES) / MAX_NINES * (W - LEFT - RIGHT));
    }

    private static int y(double log10Ms, double lo, double hi) {
        return H - BOTTOM - (int) Math.round((log10Ms - lo) / (hi - lo) * (H - TOP - BOTTOM));
    }

    private static String label(double ms) {
        return ms >= 1 ? String.valueOf((long) ms) : String.valueOf(ms);
    }
}
